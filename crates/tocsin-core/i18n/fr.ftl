# Tocsin message catalogue: French (keys as in en.ftl).

## Dates et heures
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre
date-time = { $day } { $month } { $year }, { $time }

## La page du destinataire
page-title-acknowledge = Accuser réception de cet avertissement
page-title-posture = Signaler vos mesures de protection
page-title-feedback = Trop général ? Dites-nous ce qu'il vous faut
page-intro-acknowledge = Ce lien confirme que vous avez reçu l'avertissement ci-dessous. Il ne sert qu'une fois.
page-intro-posture = Ce lien signale les mesures de protection en place maintenant. Il ne sert qu'une fois.
page-intro-feedback = Si l'avertissement ci-dessous est trop général pour agir, dites-nous ce que vous devez savoir. Ce lien ne sert qu'une fois.
page-warning = L'avertissement que vous avez reçu
page-reference = Référence
page-valid = Valable du { $from } au { $until }
page-expires = Ce lien est utilisable jusqu'au { $when }.
form-acknowledge = Accuser réception
form-measures = Mesures en place maintenant
form-other = Autre mesure (facultatif)
form-note = Remarque (facultatif)
form-report = Signaler les mesures
form-feedback-text = Que devez-vous savoir pour agir ?
form-too-general = Envoyer : trop général, il faut plus
measure-extra-screening = Contrôle renforcé des visiteurs et des sacs
measure-detection-dogs = Chiens détecteurs
measure-staff-briefed = Personnel informé
measure-evacuation-routes = Itinéraires d'évacuation vérifiés et dégagés
measure-armed-guards = Gardes armés
measure-access-control = Contrôle d'accès
measure-police-liaison = Liaison avec la police
measure-event-cancelled = Événement annulé
done-title = Merci : enregistré
done-acknowledgement = Votre accusé de réception de l'avertissement { $warning } est enregistré.
done-posture = Votre signalement des mesures pour l'avertissement { $warning } est enregistré.
done-feedback = Votre message sur l'avertissement { $warning } est enregistré. Un analyste vous répondra.
done-measures = Mesures signalées
done-note = Remarque
done-next = Prochain signalement des mesures attendu : { $due }.
done-next-link = Signaler les mesures maintenant
done-no-next = Aucun autre signalement n'est attendu.
refused-title = Ce lien ne peut pas être utilisé
refused-forged = Ce lien n'est pas valide. Il a peut-être été copié incomplètement : utilisez le lien exactement tel que vous l'avez reçu, ou contactez l'expéditeur de l'avertissement.
refused-expired = Ce lien a expiré le { $when }. Contactez l'expéditeur de l'avertissement.
refused-spent = Ce lien a déjà été utilisé. Chaque lien ne sert qu'une fois ; la page de confirmation ou le prochain message vous en donne un nouveau.
refused-conflict = Cela ne peut pas être enregistré pour cet avertissement maintenant (il n'a peut-être pas encore été remis, ou il a été annulé). Le lien n'a pas été utilisé : réessayez plus tard.
error-title = Le formulaire n'a pas été compris
error-empty-posture = Choisissez au moins une mesure ou écrivez une remarque.
error-form = Le formulaire n'a pas pu être lu : { $detail }

## Avertissements : mots communs (le texte du rapport n'est jamais traduit)
warn-to = À : { $name }
warn-subject = OBJET : { $headline }
actor-unknown = des extrémistes
harm-unknown = violences
harm-killing = meurtre
harm-serious-injury = blessures graves
harm-kidnapping = enlèvement
harm-hostage-taking = prise d'otages
harm-arson-bombing = incendie ou attentat à l'explosif
harm-destructive-attack = attaque destructrice
harm-ransomware = rançongiciel
harm-disruption = perturbation de services essentiels
credibility-possible = possible
credibility-probable = probable
credibility-confirmed = confirmée

## Services partenaires et administrations
agency-headline = Avertissement de menace : { $harms } prévu par { $actor } contre { $targets }
agency-threat = 1. Menace : { $harms } par { $actor } (crédibilité { $credibility }).
agency-window = 2. Période : du { $from } au { $until }.
agency-targets = 3. Cibles :
agency-target-window = { $target } (du { $from } au { $until })
agency-detail = 4. Détails :
agency-measures = 5. Mesures recommandées :
agency-posture = Merci d'accuser réception et de confirmer vos mesures de protection toutes les { $hours } heures jusqu'au { $until }. { $instructions }

## Exploitants
operator-headline = Avertissement de sécurité pour { $sites } : menace crédible contre { $targets }
operator-sites = Vos sites ({ $sites }) sont concernés par cette menace. Atteinte attendue : { $harms }.
operator-harm = Atteinte attendue : { $harms }.
operator-window = La menace est considérée comme active du { $from } au { $until }.
operator-check = À vérifier :
operator-check-default = Contrôlez les visiteurs et les sacs à chaque entrée, et signalez à la police tout repérage du site
operator-evacuate = Où emmener les personnes : informez chaque agent d'accueil des itinéraires d'évacuation et des points de rassemblement éloignés du bâtiment et de ses parkings ; pendant les événements, gardez toutes les issues de secours déverrouillées et dégagées.
operator-call = Qui appeler : en cas d'urgence { $emergency } ; pour signaler une activité suspecte ou demander un appui : { $contact }.
operator-emergency-local = le numéro d'urgence local
operator-emergency-or = { $first } ou { $second }
operator-police = la police
operator-posture = Maintenez ces mesures jusqu'à la fin de la période, même s'il ne se passe rien pendant des jours, et confirmez vos mesures toutes les { $hours } heures. { $instructions }

## Le public
public-headline = Alerte de sécurité : évitez { $avoid } pendant les { $hours } prochaines heures
public-advice = Évitez { $avoid } pendant les { $hours } prochaines heures. Restez attentif à votre environnement, suivez les médias locaux et les consignes des autorités locales.
public-updates = Mises à jour : { $instructions }

## Les liens d'un avertissement
links-recipient = Référence { $id }. Accuser réception : { $ack } . Trop général pour agir ? Dites-le-nous : { $feedback } .
links-public = Référence { $id }. Les prochaines alertes seront publiées par le même canal.

## Rappels, escalades et annulations
reminder-headline = RAPPEL : confirmez vos mesures de protection — { $headline }
reminder-opening = Votre confirmation des mesures pour l'avertissement { $id } était attendue le { $due }.
escalation-headline = ESCALADE : deuxième confirmation des mesures manquée — { $headline }
escalation-opening-call = Deux confirmations des mesures pour l'avertissement { $id } ont été manquées (la dernière était attendue le { $due }). Cet avis part vers les mêmes canaux que l'avertissement ; un analyste a été chargé de téléphoner à votre contact d'escalade ({ $contact }).
escalation-opening-other = Deux confirmations des mesures pour l'avertissement { $id } ont été manquées (la dernière était attendue le { $due }). Cet avis part vers les mêmes canaux que l'avertissement ; un analyste a été chargé de vous joindre par un autre moyen.
notice-window = La période de menace reste ouverte jusqu'au { $until } : maintenez vos mesures même s'il ne s'est rien passé depuis des jours.
notice-report = Signalez vos mesures actuelles : { $link } .
notice-warning = --- L'avertissement ---
cancel-headline = ANNULÉ : { $headline }
cancel-opening = L'avertissement { $id } (version { $version }, émis le { $issued }) est ANNULÉ depuis le { $at } : n'en tenez plus compte.
cancel-reason = Motif : { $reason }
cancel-other = Si un autre de nos avertissements est encore en vigueur, ses consignes restent valables.
cancel-warning = --- L'avertissement annulé ---

## Courriel et CAP : les mots du canal autour de l’alerte
email-subject = [{ $tlp }] { $headline } (réf. { $id })
email-measures = Mesures recommandées
email-valid = Valable du { $from } au { $until }.
email-reference = Référence :
email-acknowledge = Accuser réception :
email-acknowledge-link = Accuser réception de cette alerte
cap-event-violent = Menace d’attaque violente
cap-event-network = Menace d’attaque contre des réseaux ou des services
