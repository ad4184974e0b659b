# Tocsin message catalogue: Ukrainian (keys as in en.ftl).

## Дати й час
month-1 = січня
month-2 = лютого
month-3 = березня
month-4 = квітня
month-5 = травня
month-6 = червня
month-7 = липня
month-8 = серпня
month-9 = вересня
month-10 = жовтня
month-11 = листопада
month-12 = грудня
date-time = { $day } { $month } { $year }, { $time }

## Сторінка отримувача
page-title-acknowledge = Підтвердіть отримання попередження
page-title-posture = Повідомте про заходи захисту
page-title-feedback = Надто загальне? Скажіть, що вам потрібно
page-intro-acknowledge = Це посилання підтверджує, що ви отримали попередження нижче. Воно діє один раз.
page-intro-posture = Це посилання повідомляє, які заходи захисту діють зараз. Воно діє один раз.
page-intro-feedback = Якщо попередження нижче надто загальне, щоб діяти, напишіть, що вам потрібно знати. Посилання діє один раз.
page-warning = Отримане вами попередження
page-reference = Номер
page-valid = Діє з { $from } до { $until }
page-expires = Посиланням можна скористатися до { $when }.
form-acknowledge = Підтвердити отримання
form-measures = Заходи, що діють зараз
form-other = Інший захід (необов'язково)
form-note = Примітка (необов'язково)
form-report = Повідомити про заходи
form-feedback-text = Що вам потрібно знати, щоб діяти?
form-too-general = Надіслати: надто загальне, потрібно більше
measure-extra-screening = Посилений огляд відвідувачів і сумок
measure-detection-dogs = Службові собаки
measure-staff-briefed = Персонал проінструктовано
measure-evacuation-routes = Шляхи евакуації перевірені й вільні
measure-armed-guards = Озброєна охорона
measure-access-control = Контроль доступу
measure-police-liaison = Зв'язок з поліцією
measure-event-cancelled = Захід скасовано
done-title = Дякуємо: записано
done-acknowledgement = Підтвердження отримання попередження { $warning } записано.
done-posture = Повідомлення про заходи щодо попередження { $warning } записано.
done-feedback = Ваше повідомлення про попередження { $warning } записано. Аналітик зв'яжеться з вами.
done-measures = Повідомлені заходи
done-note = Примітка
done-next = Наступне підтвердження заходів: { $due }.
done-next-link = Повідомити про заходи зараз
done-no-next = Більше підтверджень не потрібно.
refused-title = Цим посиланням не можна скористатися
refused-forged = Посилання недійсне. Можливо, його скопійовано не повністю: використовуйте посилання точно таким, яким ви його отримали, або зв'яжіться з відправником попередження.
refused-expired = Термін дії посилання сплив { $when }. Зв'яжіться з відправником попередження.
refused-spent = Цим посиланням уже скористалися. Кожне посилання діє один раз; нове ви знайдете на сторінці підтвердження або в наступному повідомленні.
refused-conflict = Зараз це не можна записати для цього попередження (можливо, його ще не доставлено або скасовано). Посилання не використано: спробуйте пізніше.
error-title = Форму не розпізнано
error-empty-posture = Оберіть хоча б один захід або напишіть примітку.
error-form = Не вдалося прочитати форму: { $detail }

## Попередження: спільні слова (текст донесення не перекладається)
warn-to = КОМУ: { $name }
warn-subject = ТЕМА: { $headline }
actor-unknown = екстремісти
harm-unknown = насильство
harm-killing = вбивство
harm-serious-injury = тяжкі тілесні ушкодження
harm-kidnapping = викрадення людей
harm-hostage-taking = захоплення заручників
harm-arson-bombing = підпал або вибух
harm-destructive-attack = руйнівна атака
harm-ransomware = програма-вимагач
harm-disruption = порушення роботи життєво важливих служб
credibility-possible = можлива
credibility-probable = ймовірна
credibility-confirmed = підтверджена

## Партнерські служби та відомства
agency-headline = Попередження про загрозу: планується { $harms } ({ $actor }), ціль: { $targets }
agency-threat = 1. Загроза: { $harms } ({ $actor }); достовірність: { $credibility }.
agency-window = 2. Період: з { $from } до { $until }.
agency-targets = 3. Цілі:
agency-target-window = { $target } (з { $from } до { $until })
agency-detail = 4. Подробиці:
agency-measures = 5. Рекомендовані заходи:
agency-posture = Просимо підтвердити отримання й підтверджувати заходи захисту кожні { $hours } год до { $until }. { $instructions }

## Оператори об'єктів
operator-headline = Попередження про загрозу для { $sites }: достовірна загроза, ціль: { $targets }
operator-sites = Ваші об'єкти ({ $sites }) підпадають під цю загрозу. Очікувана шкода: { $harms }.
operator-harm = Очікувана шкода: { $harms }.
operator-window = Загроза вважається актуальною з { $from } до { $until }.
operator-check = Що перевірити:
operator-check-default = Оглядайте відвідувачів і сумки на кожному вході та повідомляйте поліцію про ознаки розвідки об'єкта
operator-evacuate = Куди виводити людей: проінструктуйте кожного розпорядника про шляхи евакуації та місця збору далеко від будівлі та її парковок; під час заходів усі аварійні виходи мають бути відчинені й вільні.
operator-call = Куди дзвонити: у надзвичайній ситуації { $emergency }; щоб повідомити про підозрілу активність або попросити підтримки: { $contact }.
operator-emergency-local = місцевий номер екстрених служб
operator-emergency-or = { $first } або { $second }
operator-police = поліція
operator-posture = Зберігайте ці заходи до закриття періоду загрози, навіть якщо кілька днів нічого не відбувається, і підтверджуйте заходи захисту кожні { $hours } год. { $instructions }

## Населення
public-headline = Попередження про безпеку: уникайте місць ({ $avoid }) найближчі { $hours } год
public-advice = Уникайте місць ({ $avoid }) найближчі { $hours } год. Будьте уважні до оточення, стежте за повідомленнями місцевих ЗМІ та виконуйте вказівки місцевої влади.
public-updates = Оновлення: { $instructions }

## Посилання в попередженні
links-recipient = Номер { $id }. Підтвердити отримання: { $ack } . Надто загальне, щоб діяти? Напишіть нам: { $feedback } .
links-public = Номер { $id }. Подальші попередження буде опубліковано тим самим каналом.

## Нагадування, ескалації та скасування
reminder-headline = НАГАДУВАННЯ: підтвердіть заходи захисту — { $headline }
reminder-opening = Підтвердження заходів щодо попередження { $id } очікувалося { $due }.
escalation-headline = ЕСКАЛАЦІЯ: друге пропущене підтвердження заходів — { $headline }
escalation-opening = Пропущено два підтвердження заходів щодо попередження { $id } (останнє очікувалося { $due }); сповіщено { $contact } та аналітиків.
notice-window = Період загрози триває до { $until }: зберігайте заходи, навіть якщо кілька днів нічого не відбувається.
notice-report = Повідомте про поточні заходи: { $link } .
notice-warning = --- Попередження ---
cancel-headline = СКАСОВАНО: { $headline }
cancel-opening = Попередження { $id } (версія { $version }, видано { $issued }) СКАСОВАНО з { $at }: не керуйтеся ним.
cancel-reason = Причина: { $reason }
cancel-other = Якщо діє інше наше попередження, його рекомендації залишаються в силі.
cancel-warning = --- Скасоване попередження ---
