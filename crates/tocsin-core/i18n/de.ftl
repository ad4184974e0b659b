# Tocsin message catalogue: German (keys as in en.ftl).

## Datum und Uhrzeit
month-1 = Januar
month-2 = Februar
month-3 = März
month-4 = April
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = August
month-9 = September
month-10 = Oktober
month-11 = November
month-12 = Dezember
date-time = { $day }. { $month } { $year }, { $time }

## Die Empfängerseite
page-title-acknowledge = Empfang dieser Warnung bestätigen
page-title-posture = Schutzmaßnahmen melden
page-title-feedback = Zu allgemein? Sagen Sie uns, was Sie brauchen
page-intro-acknowledge = Mit diesem Link bestätigen Sie, dass Sie die Warnung unten erhalten haben. Er gilt einmal.
page-intro-posture = Mit diesem Link melden Sie, welche Schutzmaßnahmen jetzt bestehen. Er gilt einmal.
page-intro-feedback = Wenn die Warnung unten zu allgemein ist, um zu handeln, sagen Sie uns, was Sie wissen müssen. Dieser Link gilt einmal.
page-warning = Die Warnung, die Sie erhalten haben
page-reference = Aktenzeichen
page-valid = Gültig vom { $from } bis { $until }
page-expires = Dieser Link ist bis { $when } gültig.
form-acknowledge = Empfang bestätigen
form-measures = Jetzt bestehende Maßnahmen
form-other = Andere Maßnahme (optional)
form-note = Anmerkung (optional)
form-report = Maßnahmen melden
form-feedback-text = Was müssen Sie wissen, um handeln zu können?
form-too-general = Senden: zu allgemein, mehr nötig
measure-extra-screening = Verstärkte Kontrolle von Besuchern und Taschen
measure-detection-dogs = Spürhunde
measure-staff-briefed = Personal unterwiesen
measure-evacuation-routes = Fluchtwege geprüft und frei
measure-armed-guards = Bewaffneter Wachdienst
measure-access-control = Zugangskontrolle
measure-police-liaison = Verbindung zur Polizei
measure-event-cancelled = Veranstaltung abgesagt
done-title = Danke: erfasst
done-acknowledgement = Ihre Empfangsbestätigung für Warnung { $warning } wurde erfasst.
done-posture = Ihre Meldung der Maßnahmen zu Warnung { $warning } wurde erfasst.
done-feedback = Ihre Nachricht zu Warnung { $warning } wurde erfasst. Eine Analystin oder ein Analyst meldet sich.
done-measures = Gemeldete Maßnahmen
done-note = Anmerkung
done-next = Nächste Meldung der Maßnahmen fällig: { $due }.
done-next-link = Maßnahmen jetzt melden
done-no-next = Es sind keine weiteren Meldungen fällig.
refused-title = Dieser Link kann nicht verwendet werden
refused-forged = Dieser Link ist ungültig. Vielleicht wurde er unvollständig kopiert: Verwenden Sie den Link genau so, wie Sie ihn erhalten haben, oder wenden Sie sich an den Absender der Warnung.
refused-expired = Dieser Link ist am { $when } abgelaufen. Wenden Sie sich an den Absender der Warnung.
refused-spent = Dieser Link wurde bereits verwendet. Jeder Link gilt einmal; einen neuen finden Sie auf der Bestätigungsseite oder in der nächsten Nachricht.
refused-conflict = Das kann für diese Warnung jetzt nicht erfasst werden (vielleicht ist sie noch nicht zugestellt oder wurde zurückgezogen). Der Link wurde nicht verbraucht: Versuchen Sie es später erneut.
error-title = Das Formular wurde nicht verstanden
error-empty-posture = Wählen Sie mindestens eine Maßnahme oder schreiben Sie eine Anmerkung.
error-form = Das Formular konnte nicht gelesen werden: { $detail }

## Warnungen: gemeinsame Wörter (der Text der Meldung wird nie übersetzt)
warn-to = AN: { $name }
warn-subject = BETREFF: { $headline }
actor-unknown = Extremisten
harm-unknown = Gewalt
harm-killing = Tötung
harm-serious-injury = schwere Körperverletzung
harm-kidnapping = Entführung
harm-hostage-taking = Geiselnahme
harm-arson-bombing = Brand- oder Sprengstoffanschlag
harm-destructive-attack = zerstörerischer Angriff
harm-ransomware = Ransomware
harm-disruption = Störung lebenswichtiger Dienste
credibility-possible = möglich
credibility-probable = wahrscheinlich
credibility-confirmed = bestätigt

## Partnerdienste und Behörden
agency-headline = Gefährdungswarnung: geplant { $harms } durch { $actor } gegen { $targets }
agency-threat = 1. Gefahr: { $harms } durch { $actor } (Glaubwürdigkeit: { $credibility }).
agency-window = 2. Zeitraum: { $from } bis { $until }.
agency-targets = 3. Ziele:
agency-target-window = { $target } (von { $from } bis { $until })
agency-detail = 4. Einzelheiten:
agency-measures = 5. Empfohlene Maßnahmen:
agency-posture = Bitte bestätigen Sie den Empfang und melden Sie Ihre Schutzmaßnahmen alle { $hours } Stunden bis { $until }. { $instructions }

## Betreiber
operator-headline = Sicherheitswarnung für { $sites }: glaubwürdige Gefahr für { $targets }
operator-sites = Ihre Standorte ({ $sites }) sind von dieser Gefahr betroffen. Erwarteter Schaden: { $harms }.
operator-harm = Erwarteter Schaden: { $harms }.
operator-window = Die Gefahr gilt als akut von { $from } bis { $until }.
operator-check = Was zu prüfen ist:
operator-check-default = Kontrollieren Sie Besucher und Taschen an jedem Eingang und melden Sie Ausspähung des Standorts der Polizei
operator-evacuate = Wohin mit den Menschen: Weisen Sie jede Ordnerin und jeden Ordner in die Fluchtwege und in Sammelplätze abseits des Gebäudes und seiner Parkplätze ein; halten Sie während Veranstaltungen alle Notausgänge unverschlossen und frei.
operator-call = Wen anrufen: im Notfall { $emergency }; um verdächtige Aktivitäten zu melden oder Unterstützung anzufordern: { $contact }.
operator-emergency-local = die örtliche Notrufnummer
operator-emergency-or = { $first } oder { $second }
operator-police = die Polizei
operator-posture = Halten Sie diese Maßnahmen aufrecht, bis der Zeitraum endet, auch wenn tagelang nichts geschieht, und melden Sie Ihre Schutzmaßnahmen alle { $hours } Stunden. { $instructions }

## Die Öffentlichkeit
public-headline = Sicherheitshinweis: meiden Sie { $avoid } in den nächsten { $hours } Stunden
public-advice = Meiden Sie { $avoid } in den nächsten { $hours } Stunden. Achten Sie auf Ihre Umgebung, verfolgen Sie die örtlichen Medien und folgen Sie den Anweisungen der örtlichen Behörden.
public-updates = Aktuelles: { $instructions }

## Die Links einer Warnung
links-recipient = Aktenzeichen { $id }. Empfang bestätigen: { $ack } . Zu allgemein, um zu handeln? Sagen Sie es uns: { $feedback } .
links-public = Aktenzeichen { $id }. Weitere Hinweise werden über denselben Kanal veröffentlicht.

## Erinnerungen, Eskalationen und Widerrufe
reminder-headline = ERINNERUNG: Schutzmaßnahmen bestätigen — { $headline }
reminder-opening = Ihre Meldung der Schutzmaßnahmen zu Warnung { $id } war fällig am { $due }.
escalation-headline = ESKALATION: zweite versäumte Meldung der Schutzmaßnahmen — { $headline }
escalation-opening-call = Zwei Meldungen der Schutzmaßnahmen zu Warnung { $id } wurden versäumt (die letzte war fällig am { $due }). Diese Nachricht geht an dieselben Kanäle wie die Warnung; ein Analyst wurde gebeten, Ihren Eskalationskontakt anzurufen ({ $contact }).
escalation-opening-other = Zwei Meldungen der Schutzmaßnahmen zu Warnung { $id } wurden versäumt (die letzte war fällig am { $due }). Diese Nachricht geht an dieselben Kanäle wie die Warnung; ein Analyst wurde gebeten, Sie auf anderem Weg zu erreichen.
notice-window = Der Gefahrenzeitraum dauert bis { $until }: Halten Sie Ihre Maßnahmen aufrecht, auch wenn tagelang nichts geschehen ist.
notice-report = Melden Sie Ihre aktuellen Schutzmaßnahmen: { $link } .
notice-warning = --- Die Warnung ---
cancel-headline = WIDERRUFEN: { $headline }
cancel-opening = Warnung { $id } (Version { $version }, ausgegeben { $issued }) ist seit { $at } WIDERRUFEN: Beachten Sie sie nicht mehr.
cancel-reason = Grund: { $reason }
cancel-other = Gilt noch eine andere Warnung von uns, bleiben deren Hinweise bestehen.
cancel-warning = --- Die widerrufene Warnung ---

## E-Mail und CAP: die Worte des Kanals um die Warnung
email-subject = [{ $tlp }] { $headline } (Az. { $id })
email-measures = Empfohlene Maßnahmen
email-valid = Gültig von { $from } bis { $until }.
email-reference = Aktenzeichen:
email-acknowledge = Empfang bestätigen:
email-acknowledge-link = Empfang dieser Warnung bestätigen
cap-event-violent = Drohender Gewaltanschlag
cap-event-network = Drohender Angriff auf Netze oder Dienste
