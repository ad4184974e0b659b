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
