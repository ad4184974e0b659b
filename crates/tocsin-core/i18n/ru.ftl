# Tocsin message catalogue: Russian (keys as in en.ftl).

## Даты и время
month-1 = января
month-2 = февраля
month-3 = марта
month-4 = апреля
month-5 = мая
month-6 = июня
month-7 = июля
month-8 = августа
month-9 = сентября
month-10 = октября
month-11 = ноября
month-12 = декабря
date-time = { $day } { $month } { $year }, { $time }

## Страница получателя
page-title-acknowledge = Подтвердите получение предупреждения
page-title-posture = Сообщите о мерах защиты
page-title-feedback = Слишком общее? Скажите, что вам нужно
page-intro-acknowledge = Эта ссылка подтверждает, что вы получили предупреждение ниже. Она действует один раз.
page-intro-posture = Эта ссылка сообщает, какие меры защиты действуют сейчас. Она действует один раз.
page-intro-feedback = Если предупреждение ниже слишком общее, чтобы действовать, напишите, что вам нужно знать. Ссылка действует один раз.
page-warning = Полученное вами предупреждение
page-reference = Номер
page-valid = Действует с { $from } до { $until }
page-expires = Ссылкой можно воспользоваться до { $when }.
form-acknowledge = Подтвердить получение
form-measures = Меры, действующие сейчас
form-other = Другая мера (необязательно)
form-note = Примечание (необязательно)
form-report = Сообщить о мерах
form-feedback-text = Что вам нужно знать, чтобы действовать?
form-too-general = Отправить: слишком общее, нужно больше
measure-extra-screening = Усиленный досмотр посетителей и сумок
measure-detection-dogs = Служебные собаки
measure-staff-briefed = Персонал проинструктирован
measure-evacuation-routes = Пути эвакуации проверены и свободны
measure-armed-guards = Вооружённая охрана
measure-access-control = Контроль доступа
measure-police-liaison = Связь с полицией
measure-event-cancelled = Мероприятие отменено
done-title = Спасибо: записано
done-acknowledgement = Подтверждение получения предупреждения { $warning } записано.
done-posture = Сообщение о мерах по предупреждению { $warning } записано.
done-feedback = Ваше сообщение о предупреждении { $warning } записано. Аналитик свяжется с вами.
done-measures = Сообщённые меры
done-note = Примечание
done-next = Следующее подтверждение мер: { $due }.
done-next-link = Сообщить о мерах сейчас
done-no-next = Больше подтверждений не требуется.
refused-title = Этой ссылкой нельзя воспользоваться
refused-forged = Ссылка недействительна. Возможно, она скопирована не полностью: используйте ссылку точно в том виде, в каком вы её получили, или свяжитесь с отправителем предупреждения.
refused-expired = Срок действия ссылки истёк { $when }. Свяжитесь с отправителем предупреждения.
refused-spent = Этой ссылкой уже воспользовались. Каждая ссылка действует один раз; новую вы найдёте на странице подтверждения или в следующем сообщении.
refused-conflict = Сейчас это нельзя записать для данного предупреждения (возможно, оно ещё не доставлено или отменено). Ссылка не использована: попробуйте позже.
error-title = Форма не распознана
error-empty-posture = Выберите хотя бы одну меру или напишите примечание.
error-form = Не удалось прочитать форму: { $detail }

## Предупреждения: общие слова (текст донесения не переводится)
warn-to = КОМУ: { $name }
warn-subject = ТЕМА: { $headline }
actor-unknown = экстремисты
harm-unknown = насилие
harm-killing = убийство
harm-serious-injury = тяжкие телесные повреждения
harm-kidnapping = похищение людей
harm-hostage-taking = захват заложников
harm-arson-bombing = поджог или взрыв
harm-destructive-attack = разрушительная атака
harm-ransomware = программа-вымогатель
harm-disruption = нарушение работы жизненно важных служб
credibility-possible = возможная
credibility-probable = вероятная
credibility-confirmed = подтверждённая

## Партнёрские службы и ведомства
agency-headline = Предупреждение об угрозе: планируется { $harms } ({ $actor }), цель: { $targets }
agency-threat = 1. Угроза: { $harms } ({ $actor }); достоверность: { $credibility }.
agency-window = 2. Период: с { $from } до { $until }.
agency-targets = 3. Цели:
agency-target-window = { $target } (с { $from } до { $until })
agency-detail = 4. Подробности:
agency-measures = 5. Рекомендуемые меры:
agency-posture = Просим подтвердить получение и подтверждать меры защиты каждые { $hours } ч до { $until }. { $instructions }

## Операторы объектов
operator-headline = Предупреждение об угрозе для { $sites }: достоверная угроза, цель: { $targets }
operator-sites = Ваши объекты ({ $sites }) попадают под эту угрозу. Ожидаемый вред: { $harms }.
operator-harm = Ожидаемый вред: { $harms }.
operator-window = Угроза считается актуальной с { $from } до { $until }.
operator-check = Что проверить:
operator-check-default = Досматривайте посетителей и сумки на каждом входе и сообщайте в полицию о признаках разведки объекта
operator-evacuate = Куда выводить людей: проинструктируйте каждого распорядителя о путях эвакуации и о местах сбора вдали от здания и его парковок; во время мероприятий все аварийные выходы должны быть открыты и свободны.
operator-call = Куда звонить: в экстренном случае { $emergency }; чтобы сообщить о подозрительной активности или запросить поддержку: { $contact }.
operator-emergency-local = местный номер экстренных служб
operator-emergency-or = { $first } или { $second }
operator-police = полиция
operator-posture = Сохраняйте эти меры до закрытия периода угрозы, даже если несколько дней ничего не происходит, и подтверждайте меры защиты каждые { $hours } ч. { $instructions }

## Население
public-headline = Предупреждение о безопасности: избегайте мест ({ $avoid }) в ближайшие { $hours } ч
public-advice = Избегайте мест ({ $avoid }) в ближайшие { $hours } ч. Будьте внимательны к окружающей обстановке, следите за сообщениями местных СМИ и выполняйте указания местных властей.
public-updates = Новости: { $instructions }

## Ссылки в предупреждении
links-recipient = Номер { $id }. Подтвердить получение: { $ack } . Слишком общее, чтобы действовать? Напишите нам: { $feedback } .
links-public = Номер { $id }. Дальнейшие предупреждения будут опубликованы по тому же каналу.

## Напоминания, эскалации и отмены
reminder-headline = НАПОМИНАНИЕ: подтвердите меры защиты — { $headline }
reminder-opening = Подтверждение мер по предупреждению { $id } ожидалось { $due }.
escalation-headline = ЭСКАЛАЦИЯ: второе пропущенное подтверждение мер — { $headline }
escalation-opening = Пропущены два подтверждения мер по предупреждению { $id } (последнее ожидалось { $due }); оповещены { $contact } и аналитики.
notice-window = Период угрозы продолжается до { $until }: сохраняйте меры, даже если несколько дней ничего не происходит.
notice-report = Сообщите о текущих мерах: { $link } .
notice-warning = --- Предупреждение ---
cancel-headline = ОТМЕНЕНО: { $headline }
cancel-opening = Предупреждение { $id } (версия { $version }, выпущено { $issued }) ОТМЕНЕНО с { $at }: не руководствуйтесь им.
cancel-reason = Причина: { $reason }
cancel-other = Если действует другое наше предупреждение, его рекомендации остаются в силе.
cancel-warning = --- Отменённое предупреждение ---
