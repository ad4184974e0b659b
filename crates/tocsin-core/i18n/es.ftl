# Tocsin message catalogue: Spanish (keys as in en.ftl).

## Fechas y horas
month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre
date-time = { $day } de { $month } de { $year }, { $time }

## La página del destinatario
page-title-acknowledge = Confirme la recepción de esta alerta
page-title-posture = Informe de sus medidas de protección
page-title-feedback = ¿Demasiado general? Díganos qué necesita
page-intro-acknowledge = Este enlace confirma que recibió la alerta de abajo. Sirve una sola vez.
page-intro-posture = Este enlace informa de las medidas de protección vigentes ahora. Sirve una sola vez.
page-intro-feedback = Si la alerta de abajo es demasiado general para actuar, díganos qué necesita saber. Este enlace sirve una sola vez.
page-warning = La alerta que recibió
page-reference = Referencia
page-valid = Válida del { $from } al { $until }
page-expires = Este enlace puede usarse hasta el { $when }.
form-acknowledge = Confirmar recepción
form-measures = Medidas vigentes ahora
form-other = Otra medida (opcional)
form-note = Nota (opcional)
form-report = Informar de las medidas
form-feedback-text = ¿Qué necesita saber para actuar?
form-too-general = Enviar: demasiado general, necesito más
measure-extra-screening = Control reforzado de visitantes y bolsos
measure-detection-dogs = Perros detectores
measure-staff-briefed = Personal informado
measure-evacuation-routes = Rutas de evacuación revisadas y despejadas
measure-armed-guards = Guardias armados
measure-access-control = Control de acceso
measure-police-liaison = Enlace con la policía
measure-event-cancelled = Evento cancelado
done-title = Gracias: registrado
done-acknowledgement = Se registró su confirmación de recepción de la alerta { $warning }.
done-posture = Se registró su informe de medidas para la alerta { $warning }.
done-feedback = Se registró su mensaje sobre la alerta { $warning }. Un analista le responderá.
done-measures = Medidas informadas
done-note = Nota
done-next = Próximo informe de medidas: { $due }.
done-next-link = Informar de las medidas ahora
done-no-next = No se esperan más informes.
refused-title = Este enlace no se puede usar
refused-forged = Este enlace no es válido. Quizá se copió de forma incompleta: use el enlace exactamente como lo recibió o contacte con quien le envió la alerta.
refused-expired = Este enlace caducó el { $when }. Contacte con quien le envió la alerta.
refused-spent = Este enlace ya se usó. Cada enlace sirve una sola vez; la página de confirmación o el próximo mensaje le dan uno nuevo.
refused-conflict = Esto no se puede registrar ahora para esta alerta (quizá aún no se entregó o se canceló). El enlace no se usó: inténtelo más tarde.
error-title = No se entendió el formulario
error-empty-posture = Elija al menos una medida o escriba una nota.
error-form = No se pudo leer el formulario: { $detail }

## Alertas: palabras comunes (el texto del informe nunca se traduce)
warn-to = PARA: { $name }
warn-subject = ASUNTO: { $headline }
actor-unknown = extremistas
harm-unknown = violencia
harm-killing = asesinato
harm-serious-injury = lesiones graves
harm-kidnapping = secuestro
harm-hostage-taking = toma de rehenes
harm-arson-bombing = incendio o atentado con explosivos
harm-destructive-attack = ataque destructivo
harm-ransomware = ransomware
harm-disruption = interrupción de servicios esenciales
credibility-possible = posible
credibility-probable = probable
credibility-confirmed = confirmada

## Servicios asociados y organismos
agency-headline = Alerta de amenaza: { $harms } planeado por { $actor } contra { $targets }
agency-threat = 1. Amenaza: { $harms } por { $actor } (credibilidad { $credibility }).
agency-window = 2. Periodo: del { $from } al { $until }.
agency-targets = 3. Objetivos:
agency-target-window = { $target } (del { $from } al { $until })
agency-detail = 4. Detalles:
agency-measures = 5. Medidas recomendadas:
agency-posture = Confirme la recepción y sus medidas de protección cada { $hours } horas hasta el { $until }. { $instructions }

## Operadores
operator-headline = Alerta de seguridad para { $sites }: amenaza creíble contra { $targets }
operator-sites = Sus instalaciones ({ $sites }) están dentro de esta amenaza. Daño esperado: { $harms }.
operator-harm = Daño esperado: { $harms }.
operator-window = La amenaza se considera activa del { $from } al { $until }.
operator-check = Qué revisar:
operator-check-default = Revise a los visitantes y los bolsos en cada entrada, y comunique a la policía cualquier reconocimiento del lugar
operator-evacuate = Adónde llevar a las personas: informe a cada auxiliar de las rutas de evacuación y de los puntos de reunión alejados del edificio y de sus aparcamientos; durante los eventos, mantenga todas las salidas de emergencia abiertas y despejadas.
operator-call = A quién llamar: en una emergencia { $emergency }; para informar de actividad sospechosa o pedir apoyo: { $contact }.
operator-emergency-local = el número de emergencias local
operator-emergency-or = { $first } o { $second }
operator-police = la policía
operator-posture = Mantenga estas medidas hasta que cierre el periodo, aunque no ocurra nada durante días, y confirme sus medidas cada { $hours } horas. { $instructions }

## El público
public-headline = Alerta de seguridad: evite { $avoid } durante las próximas { $hours } horas
public-advice = Evite { $avoid } durante las próximas { $hours } horas. Esté atento a su entorno, siga los medios locales y las instrucciones de las autoridades locales.
public-updates = Novedades: { $instructions }

## Los enlaces de una alerta
links-recipient = Referencia { $id }. Confirmar recepción: { $ack } . ¿Demasiado general para actuar? Díganoslo: { $feedback } .
links-public = Referencia { $id }. Las próximas alertas se publicarán por el mismo canal.

## Recordatorios, escalados y cancelaciones
reminder-headline = RECORDATORIO: confirme sus medidas de protección — { $headline }
reminder-opening = Su confirmación de medidas para la alerta { $id } vencía el { $due }.
escalation-headline = ESCALADO: segunda confirmación de medidas omitida — { $headline }
escalation-opening-call = Se omitieron dos confirmaciones de medidas para la alerta { $id } (la última vencía el { $due }). Este aviso va a los mismos canales que la alerta; se ha pedido a un analista que llame a su contacto de escalamiento ({ $contact }).
escalation-opening-other = Se omitieron dos confirmaciones de medidas para la alerta { $id } (la última vencía el { $due }). Este aviso va a los mismos canales que la alerta; se ha pedido a un analista que le contacte por otra vía.
notice-window = El periodo de amenaza sigue abierto hasta el { $until }: mantenga sus medidas aunque no haya ocurrido nada en días.
notice-report = Informe de sus medidas actuales: { $link } .
notice-warning = --- La alerta ---
cancel-headline = CANCELADA: { $headline }
cancel-opening = La alerta { $id } (versión { $version }, emitida el { $issued }) queda CANCELADA desde el { $at }: no la tenga en cuenta.
cancel-reason = Motivo: { $reason }
cancel-other = Si sigue vigente otra alerta nuestra, sus indicaciones se mantienen.
cancel-warning = --- La alerta cancelada ---

## Correo y CAP: las palabras del canal en torno al aviso
email-subject = [{ $tlp }] { $headline } (ref. { $id })
email-measures = Medidas recomendadas
email-valid = Válido del { $from } al { $until }.
email-reference = Referencia:
email-acknowledge = Acusar recibo:
email-acknowledge-link = Acusar recibo de este aviso
cap-event-violent = Amenaza de ataque violento
cap-event-network = Amenaza de ataque contra redes o servicios
