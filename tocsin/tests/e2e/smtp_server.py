# A real SMTP server for the e2e tests: aiosmtpd on 127.0.0.1 (a free port, printed as
# "READY <port>"), writing each accepted message as JSON (envelope, headers and the parser's
# defects, subject, decoded parts with disposition and file name) into the directory argv[1].
# With argv[2] = "user:password" it requires AUTH. It runs until its standard input closes.
import json, os, socket, sys
from email import message_from_bytes, policy
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

out = sys.argv[1]
creds = sys.argv[2].split(":", 1) if len(sys.argv) > 2 else None
logins = []

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = creds is not None and auth_data.login == creds[0].encode() and auth_data.password == creds[1].encode()
    if ok:
        logins.append(mechanism)
    return AuthResult(success=ok)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        parts = [{"type": p.get_content_type(), "text": p.get_content(),
                  "disposition": p.get_content_disposition(), "filename": p.get_filename()}
                 for p in msg.walk() if not p.is_multipart()]
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": logins[-1] if logins else None,
            "content_type": msg.get_content_type(),
            "subject": str(msg["subject"]),
            "headers": {k.lower(): str(v) for k, v in msg.items()},
            # What the standard parser found wrong (RFC 5322 syntax), per header and overall.
            "header_defects": {k.lower(): [str(d) for d in v.defects] for k, v in msg.items() if v.defects},
            "defects": [str(d) for d in msg.defects],
            "parts": parts,
        }
        n = len(os.listdir(out))
        tmp = os.path.join(out, f".{n}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out, f"{n}.json"))
        return "250 OK"

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
kw = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False) if creds else {}
c = Controller(Handler(), hostname="127.0.0.1", port=port, **kw)
c.start()
print(f"READY {port}", flush=True)
try:
    sys.stdin.read()
finally:
    c.stop()
