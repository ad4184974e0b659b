# Tocsin message catalogue: English (the reference: every other catalogue has exactly these keys).
# Format: a subset of Project Fluent — one `key = text` per line, placeables `{ $name }`.
# docs/formats.md ("Languages") describes it.

## Dates and times: "22 March 2024, 20:00 MSK (17:00 UTC)"
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December
date-time = { $day } { $month } { $year }, { $time }

## The recipient page (/r/{token})
page-title-acknowledge = Acknowledge this warning
page-title-posture = Report your protective posture
page-title-feedback = Too general? Tell us what you need
page-intro-acknowledge = This link confirms that you received the warning below. It works once.
page-intro-posture = This link reports which protective measures are in place now. It works once.
page-intro-feedback = If the warning below is too general to act on, tell us what you need to know. This link works once.
page-warning = The warning you received
page-reference = Reference
page-valid = Valid from { $from } until { $until }
page-expires = This link can be used until { $when }.
form-acknowledge = Acknowledge receipt
form-measures = Measures in place now
form-other = Other measure (optional)
form-note = Note (optional)
form-report = Report posture
form-feedback-text = What do you need to know to act?
form-too-general = Send: too general, need more
measure-extra-screening = Extra screening of visitors and bags
measure-detection-dogs = Detection dogs
measure-staff-briefed = Staff briefed
measure-evacuation-routes = Evacuation routes checked and clear
measure-armed-guards = Armed guards
measure-access-control = Access control
measure-police-liaison = Police liaison
measure-event-cancelled = Event cancelled
done-title = Thank you: recorded
done-acknowledgement = Your acknowledgement of warning { $warning } was recorded.
done-posture = Your posture report for warning { $warning } was recorded.
done-feedback = Your message about warning { $warning } was recorded. An analyst will follow up.
done-measures = Measures reported
done-note = Note
done-next = Next posture check-in due { $due }.
done-next-link = Report posture now
done-no-next = No further check-ins are due.
refused-title = This link cannot be used
refused-forged = This link is not valid. It may have been copied incompletely: use the link exactly as you received it, or contact whoever sent you the warning.
refused-expired = This link expired on { $when }. Contact whoever sent you the warning.
refused-spent = This link has already been used. Each link works once; the confirmation page or the next message gives you a new one.
refused-conflict = This cannot be recorded for this warning now (it may not have been delivered yet, or it was cancelled). The link was not used: try again later.
error-title = The form was not understood
error-empty-posture = Choose at least one measure or write a note.
error-form = The form could not be read: { $detail }

## Warnings: shared words (report text itself is never translated)
warn-to = TO: { $name }
warn-subject = SUBJECT: { $headline }
actor-unknown = extremists
harm-unknown = violence
harm-killing = killing
harm-serious-injury = serious injury
harm-kidnapping = kidnapping
harm-hostage-taking = hostage-taking
harm-arson-bombing = arson or bombing
harm-destructive-attack = destructive attack
harm-ransomware = ransomware
harm-disruption = disruption of essential services
credibility-possible = possible
credibility-probable = probable
credibility-confirmed = confirmed

## Partner services and domestic agencies
agency-headline = Threat warning: planned { $harms } by { $actor } against { $targets }
agency-threat = 1. Threat: { $harms } by { $actor } ({ $credibility } credibility).
agency-window = 2. Window: { $from } to { $until }.
agency-targets = 3. Targets:
agency-target-window = { $target } (from { $from } to { $until })
agency-detail = 4. Detail:
agency-measures = 5. Recommended measures:
agency-posture = Please acknowledge receipt and confirm protective posture every { $hours } hours until { $until }. { $instructions }

## Operators
operator-headline = Security warning for { $sites }: credible threat to { $targets }
operator-sites = Your site(s) { $sites } fall within this threat. Expected harm: { $harms }.
operator-harm = Expected harm: { $harms }.
operator-window = The threat is considered live from { $from } until { $until }.
operator-check = What to check:
operator-check-default = Screen visitors and bags at every entrance, and report reconnaissance of the site to the police
operator-evacuate = Where to take people: brief every steward on the evacuation routes and on assembly points away from the building and its car parks; keep all emergency exits unlocked and clear during events.
operator-call = Whom to call: in an emergency { $emergency }; to report suspicious activity or ask for support, { $contact }.
operator-emergency-local = the local emergency number
operator-emergency-or = { $first } or { $second }
operator-police = the police
operator-posture = Keep these measures in place until the window closes, even if nothing happens for days, and confirm your posture every { $hours } hours. { $instructions }

## The public
public-headline = Security alert: avoid { $avoid } over the next { $hours } hours
public-advice = Avoid { $avoid } over the next { $hours } hours. Be aware of your surroundings, monitor local media for updates and follow the instructions of local authorities.
public-updates = Updates: { $instructions }

## The links in a warning
links-recipient = Reference { $id }. Acknowledge receipt: { $ack } . Too general to act on? Tell us: { $feedback } .
links-public = Reference { $id }. Further alerts will be published through the same channel.

## Reminders, escalations and cancels
reminder-headline = REMINDER: confirm your protective posture — { $headline }
reminder-opening = Your posture check-in for warning { $id } was due { $due }.
escalation-headline = ESCALATION: second missed posture check-in — { $headline }
escalation-opening-call = Two posture check-ins for warning { $id } were missed (the last was due { $due }). This notice goes to the same channels as the warning; an analyst has been asked to telephone your escalation contact ({ $contact }).
escalation-opening-other = Two posture check-ins for warning { $id } were missed (the last was due { $due }). This notice goes to the same channels as the warning; an analyst has been asked to reach you another way.
notice-window = The threat window stays open until { $until }: keep your measures in place even if nothing has happened for days.
notice-report = Report your current posture: { $link } .
notice-warning = --- The warning ---
cancel-headline = CANCELLED: { $headline }
cancel-opening = Warning { $id } (version { $version }, issued { $issued }) is CANCELLED as of { $at }: disregard it.
cancel-reason = Reason: { $reason }
cancel-other = If another warning from us is still in force, its advice stands.
cancel-warning = --- The cancelled warning ---

## E-mail and CAP: the channel's own words around the warning
email-subject = [{ $tlp }] { $headline } (ref { $id })
email-measures = Recommended measures
email-valid = Valid { $from } to { $until }.
email-reference = Reference:
email-acknowledge = Acknowledge:
email-acknowledge-link = Acknowledge this warning
cap-event-violent = Threat of violent attack
cap-event-network = Threat of attack on networks or services
