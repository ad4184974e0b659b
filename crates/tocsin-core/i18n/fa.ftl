# Tocsin message catalogue: Persian, right to left (keys as in en.ftl).

## تاریخ و ساعت
month-1 = ژانویه
month-2 = فوریه
month-3 = مارس
month-4 = آوریل
month-5 = مه
month-6 = ژوئن
month-7 = ژوئیه
month-8 = اوت
month-9 = سپتامبر
month-10 = اکتبر
month-11 = نوامبر
month-12 = دسامبر
date-time = { $day } { $month } { $year }، { $time }

## صفحهٔ گیرنده
page-title-acknowledge = دریافت این هشدار را تأیید کنید
page-title-posture = اقدامات حفاظتی خود را گزارش دهید
page-title-feedback = بیش از حد کلی است؟ بگویید چه نیاز دارید
page-intro-acknowledge = این پیوند تأیید می‌کند که هشدار زیر را دریافت کرده‌اید. فقط یک بار کار می‌کند.
page-intro-posture = این پیوند گزارش می‌دهد که اکنون کدام اقدامات حفاظتی برقرار است. فقط یک بار کار می‌کند.
page-intro-feedback = اگر هشدار زیر برای اقدام بیش از حد کلی است، بگویید چه چیزی باید بدانید. این پیوند فقط یک بار کار می‌کند.
page-warning = هشداری که دریافت کردید
page-reference = شمارهٔ مرجع
page-valid = معتبر از { $from } تا { $until }
page-expires = این پیوند تا { $when } قابل استفاده است.
form-acknowledge = تأیید دریافت
form-measures = اقدامات برقرار در حال حاضر
form-other = اقدام دیگر (اختیاری)
form-note = یادداشت (اختیاری)
form-report = گزارش اقدامات
form-feedback-text = برای اقدام چه چیزی باید بدانید؟
form-too-general = ارسال: بیش از حد کلی است، اطلاعات بیشتر لازم است
measure-extra-screening = بازرسی بیشتر بازدیدکنندگان و کیف‌ها
measure-detection-dogs = سگ‌های ردیاب
measure-staff-briefed = توجیه کارکنان
measure-evacuation-routes = مسیرهای تخلیه بررسی و باز است
measure-armed-guards = نگهبانان مسلح
measure-access-control = کنترل ورود
measure-police-liaison = هماهنگی با پلیس
measure-event-cancelled = رویداد لغو شد
done-title = سپاس: ثبت شد
done-acknowledgement = تأیید دریافت شما برای هشدار { $warning } ثبت شد.
done-posture = گزارش اقدامات شما برای هشدار { $warning } ثبت شد.
done-feedback = پیام شما دربارهٔ هشدار { $warning } ثبت شد. یک تحلیلگر پیگیری خواهد کرد.
done-measures = اقدامات گزارش‌شده
done-note = یادداشت
done-next = موعد گزارش بعدی اقدامات: { $due }.
done-next-link = اکنون اقدامات را گزارش دهید
done-no-next = گزارش دیگری لازم نیست.
refused-title = این پیوند قابل استفاده نیست
refused-forged = این پیوند معتبر نیست. شاید ناقص کپی شده باشد: پیوند را دقیقاً همان‌طور که دریافت کردید به کار ببرید یا با فرستندهٔ هشدار تماس بگیرید.
refused-expired = اعتبار این پیوند در { $when } به پایان رسید. با فرستندهٔ هشدار تماس بگیرید.
refused-spent = از این پیوند قبلاً استفاده شده است. هر پیوند فقط یک بار کار می‌کند؛ پیوند تازه را در صفحهٔ تأیید یا پیام بعدی می‌یابید.
refused-conflict = اکنون نمی‌توان این را برای این هشدار ثبت کرد (شاید هنوز تحویل نشده یا لغو شده است). پیوند مصرف نشد: بعداً دوباره تلاش کنید.
error-title = فرم فهمیده نشد
error-empty-posture = دست‌کم یک اقدام را انتخاب کنید یا یادداشتی بنویسید.
error-form = فرم خوانده نشد: { $detail }

## هشدارها: واژه‌های مشترک (متن گزارش هرگز ترجمه نمی‌شود)
warn-to = به: { $name }
warn-subject = موضوع: { $headline }
actor-unknown = افراطیون
harm-unknown = خشونت
harm-killing = قتل
harm-serious-injury = جراحت شدید
harm-kidnapping = آدم‌ربایی
harm-hostage-taking = گروگان‌گیری
harm-arson-bombing = آتش‌سوزی عمدی یا بمب‌گذاری
harm-destructive-attack = حملهٔ تخریبی
harm-ransomware = باج‌افزار
harm-disruption = اختلال در خدمات حیاتی
credibility-possible = ممکن
credibility-probable = محتمل
credibility-confirmed = تأییدشده
## سرویس‌های همکار و نهادها
agency-headline = هشدار تهدید: { $harms } برنامه‌ریزی‌شده از سوی { $actor } علیه { $targets }
agency-threat = ۱. تهدید: { $harms } از سوی { $actor } (اعتبار: { $credibility }).
agency-window = ۲. بازه: از { $from } تا { $until }.
agency-targets = ۳. اهداف:
agency-target-window = { $target } (از { $from } تا { $until })
agency-detail = ۴. جزئیات:
agency-measures = ۵. اقدامات توصیه‌شده:
agency-posture = لطفاً دریافت را تأیید کنید و اقدامات حفاظتی را هر { $hours } ساعت تا { $until } تأیید کنید. { $instructions }

## بهره‌برداران
operator-headline = هشدار امنیتی برای { $sites }: تهدید معتبر علیه { $targets }
operator-sites = مکان‌های شما ({ $sites }) در محدودهٔ این تهدید است. آسیب مورد انتظار: { $harms }.
operator-harm = آسیب مورد انتظار: { $harms }.
operator-window = تهدید از { $from } تا { $until } فعال شمرده می‌شود.
operator-check = چه چیزی را بررسی کنید:
operator-check-default = بازدیدکنندگان و کیف‌ها را در هر ورودی بازرسی کنید و هر شناسایی مکان را به پلیس گزارش دهید
operator-evacuate = مردم را به کجا ببرید: همهٔ مسئولان نظم را با مسیرهای تخلیه و نقاط تجمع دور از ساختمان و پارکینگ‌هایش آشنا کنید؛ در طول رویدادها همهٔ خروجی‌های اضطراری را باز و خالی نگه دارید.
operator-call = با چه کسی تماس بگیرید: در وضعیت اضطراری { $emergency }؛ برای گزارش فعالیت مشکوک یا درخواست پشتیبانی: { $contact }.
operator-emergency-local = شمارهٔ اضطراری محلی
operator-emergency-or = { $first } یا { $second }
operator-police = پلیس
operator-posture = این اقدامات را تا پایان بازه حفظ کنید، حتی اگر روزها اتفاقی نیفتد، و اقدامات حفاظتی را هر { $hours } ساعت تأیید کنید. { $instructions }

## عموم مردم
public-headline = هشدار امنیتی: در { $hours } ساعت آینده از { $avoid } دوری کنید
public-advice = در { $hours } ساعت آینده از { $avoid } دوری کنید. مراقب اطراف خود باشید، رسانه‌های محلی را دنبال کنید و از دستورهای مقامات محلی پیروی کنید.
public-updates = اخبار تازه: { $instructions }

## پیوندهای هشدار
links-recipient = شمارهٔ مرجع { $id }. تأیید دریافت: { $ack } . برای اقدام بیش از حد کلی است؟ به ما بگویید: { $feedback } .
links-public = شمارهٔ مرجع { $id }. هشدارهای بعدی از همین مسیر منتشر می‌شود.

## یادآوری‌ها، ارجاع‌ها و لغوها
reminder-headline = یادآوری: اقدامات حفاظتی خود را تأیید کنید — { $headline }
reminder-opening = موعد تأیید اقدامات برای هشدار { $id } در { $due } بود.
escalation-headline = ارجاع: دومین تأیید اقدامات از دست رفت — { $headline }
escalation-opening-call = دو تأیید اقدامات برای هشدار { $id } از دست رفت (آخرین موعد { $due } بود). این اعلان از همان مجاری هشدار ارسال می‌شود؛ از یک تحلیلگر خواسته شد با مخاطب تشدید شما تماس تلفنی بگیرد ({ $contact }).
escalation-opening-other = دو تأیید اقدامات برای هشدار { $id } از دست رفت (آخرین موعد { $due } بود). این اعلان از همان مجاری هشدار ارسال می‌شود؛ از یک تحلیلگر خواسته شد از راه دیگری با شما تماس بگیرد.
notice-window = بازهٔ تهدید تا { $until } باز است: اقدامات خود را حفظ کنید، حتی اگر روزها اتفاقی نیفتاده باشد.
notice-report = اقدامات فعلی خود را گزارش دهید: { $link } .
notice-warning = --- هشدار ---
cancel-headline = لغو شد: { $headline }
cancel-opening = هشدار { $id } (نسخهٔ { $version }، صادرشده در { $issued }) از { $at } لغو شده است: آن را نادیده بگیرید.
cancel-reason = دلیل: { $reason }
cancel-other = اگر هشدار دیگری از ما هنوز معتبر است، توصیه‌های آن پابرجاست.
cancel-warning = --- هشدار لغوشده ---

## ایمیل و CAP: واژه‌های کانال پیرامون هشدار
email-subject = [{ $tlp }] { $headline } (شماره { $id })
email-measures = اقدامات توصیه‌شده
email-valid = معتبر از { $from } تا { $until }.
email-reference = شماره:
email-acknowledge = تأیید دریافت:
email-acknowledge-link = تأیید دریافت این هشدار
cap-event-violent = تهدید حمله خشونت‌آمیز
cap-event-network = تهدید حمله به شبکه‌ها یا خدمات
