# Tocsin message catalogue: Arabic, right to left (keys as in en.ftl).

## التاريخ والوقت
month-1 = يناير
month-2 = فبراير
month-3 = مارس
month-4 = أبريل
month-5 = مايو
month-6 = يونيو
month-7 = يوليو
month-8 = أغسطس
month-9 = سبتمبر
month-10 = أكتوبر
month-11 = نوفمبر
month-12 = ديسمبر
date-time = { $day } { $month } { $year }، { $time }

## صفحة المستلم
page-title-acknowledge = أكِّد استلام هذا التحذير
page-title-posture = أبلِغ عن إجراءات الحماية
page-title-feedback = عام أكثر من اللازم؟ أخبرنا بما تحتاجه
page-intro-acknowledge = يؤكد هذا الرابط أنك استلمت التحذير أدناه. يصلح لمرة واحدة.
page-intro-posture = يبلغ هذا الرابط عن إجراءات الحماية المطبقة الآن. يصلح لمرة واحدة.
page-intro-feedback = إذا كان التحذير أدناه عامًا أكثر من أن تتصرف بناءً عليه، فأخبرنا بما تحتاج إلى معرفته. يصلح هذا الرابط لمرة واحدة.
page-warning = التحذير الذي استلمته
page-reference = المرجع
page-valid = ساري من { $from } حتى { $until }
page-expires = يمكن استخدام هذا الرابط حتى { $when }.
form-acknowledge = تأكيد الاستلام
form-measures = الإجراءات المطبقة الآن
form-other = إجراء آخر (اختياري)
form-note = ملاحظة (اختيارية)
form-report = الإبلاغ عن الإجراءات
form-feedback-text = ما الذي تحتاج إلى معرفته لتتصرف؟
form-too-general = إرسال: عام أكثر من اللازم، أحتاج إلى المزيد
measure-extra-screening = تفتيش مشدد للزوار والحقائب
measure-detection-dogs = كلاب الكشف
measure-staff-briefed = إحاطة الموظفين
measure-evacuation-routes = طرق الإخلاء مفحوصة وخالية
measure-armed-guards = حراس مسلحون
measure-access-control = التحكم في الدخول
measure-police-liaison = التنسيق مع الشرطة
measure-event-cancelled = إلغاء الفعالية
done-title = شكرًا: تم التسجيل
done-acknowledgement = تم تسجيل تأكيد استلامك للتحذير { $warning }.
done-posture = تم تسجيل بلاغك عن الإجراءات للتحذير { $warning }.
done-feedback = تم تسجيل رسالتك بشأن التحذير { $warning }. سيتابع معك أحد المحللين.
done-measures = الإجراءات المبلغ عنها
done-note = ملاحظة
done-next = موعد البلاغ التالي عن الإجراءات: { $due }.
done-next-link = أبلِغ عن الإجراءات الآن
done-no-next = لا توجد بلاغات أخرى مطلوبة.
refused-title = لا يمكن استخدام هذا الرابط
refused-forged = هذا الرابط غير صالح. ربما نُسخ بشكل ناقص: استخدم الرابط كما استلمته تمامًا، أو اتصل بمرسل التحذير.
refused-expired = انتهت صلاحية هذا الرابط في { $when }. اتصل بمرسل التحذير.
refused-spent = استُخدم هذا الرابط من قبل. كل رابط يصلح لمرة واحدة؛ تجد رابطًا جديدًا في صفحة التأكيد أو في الرسالة التالية.
refused-conflict = لا يمكن تسجيل هذا لهذا التحذير الآن (ربما لم يُسلَّم بعد أو أُلغي). لم يُستخدم الرابط: حاول مرة أخرى لاحقًا.
error-title = لم يُفهم النموذج
error-empty-posture = اختر إجراءً واحدًا على الأقل أو اكتب ملاحظة.
error-form = تعذرت قراءة النموذج: { $detail }

## التحذيرات: كلمات مشتركة (نص التقرير لا يُترجم أبدًا)
warn-to = إلى: { $name }
warn-subject = الموضوع: { $headline }
actor-unknown = متطرفون
harm-unknown = عنف
harm-killing = قتل
harm-serious-injury = إصابات خطيرة
harm-kidnapping = اختطاف
harm-hostage-taking = احتجاز رهائن
harm-arson-bombing = حرق متعمد أو تفجير
harm-destructive-attack = هجوم تخريبي
harm-ransomware = برمجية فدية
harm-disruption = تعطيل خدمات أساسية
credibility-possible = محتملة
credibility-probable = مرجحة
credibility-confirmed = مؤكدة

## الأجهزة الشريكة والجهات الحكومية
agency-headline = تحذير من تهديد: { $harms } مخطط من قبل { $actor } ضد { $targets }
agency-threat = 1. التهديد: { $harms } من قبل { $actor } (المصداقية: { $credibility }).
agency-window = 2. الفترة: من { $from } إلى { $until }.
agency-targets = 3. الأهداف:
agency-target-window = { $target } (من { $from } إلى { $until })
agency-detail = 4. التفاصيل:
agency-measures = 5. الإجراءات الموصى بها:
agency-posture = يرجى تأكيد الاستلام وتأكيد إجراءات الحماية كل { $hours } ساعة حتى { $until }. { $instructions }

## المشغلون
operator-headline = تحذير أمني لـ { $sites }: تهديد موثوق ضد { $targets }
operator-sites = مواقعكم ({ $sites }) تقع ضمن هذا التهديد. الضرر المتوقع: { $harms }.
operator-harm = الضرر المتوقع: { $harms }.
operator-window = يُعد التهديد قائمًا من { $from } حتى { $until }.
operator-check = ما يجب فحصه:
operator-check-default = فتشوا الزوار والحقائب عند كل مدخل، وأبلغوا الشرطة عن أي استطلاع للموقع
operator-evacuate = إلى أين تُخرجون الناس: أطلعوا كل منظم على طرق الإخلاء ونقاط التجمع البعيدة عن المبنى ومواقف سياراته؛ وأبقوا جميع مخارج الطوارئ مفتوحة وخالية أثناء الفعاليات.
operator-call = بمن تتصلون: في حالة الطوارئ { $emergency }؛ للإبلاغ عن نشاط مريب أو طلب الدعم: { $contact }.
operator-emergency-local = رقم الطوارئ المحلي
operator-emergency-or = { $first } أو { $second }
operator-police = الشرطة
operator-posture = حافظوا على هذه الإجراءات حتى انتهاء الفترة، حتى لو لم يحدث شيء لأيام، وأكدوا إجراءات الحماية كل { $hours } ساعة. { $instructions }

## الجمهور
public-headline = تنبيه أمني: تجنبوا { $avoid } خلال الساعات الـ { $hours } القادمة
public-advice = تجنبوا { $avoid } خلال الساعات الـ { $hours } القادمة. انتبهوا لما حولكم، وتابعوا وسائل الإعلام المحلية، واتبعوا تعليمات السلطات المحلية.
public-updates = المستجدات: { $instructions }

## روابط التحذير
links-recipient = المرجع { $id }. تأكيد الاستلام: { $ack } . عام أكثر من أن تتصرفوا بناءً عليه؟ أخبرونا: { $feedback } .
links-public = المرجع { $id }. ستُنشر التنبيهات اللاحقة عبر القناة نفسها.

## التذكيرات والتصعيد والإلغاء
reminder-headline = تذكير: أكدوا إجراءات الحماية — { $headline }
reminder-opening = كان موعد تأكيد الإجراءات للتحذير { $id } في { $due }.
escalation-headline = تصعيد: فات تأكيد الإجراءات للمرة الثانية — { $headline }
escalation-opening-call = فات تأكيدان للإجراءات للتحذير { $id } (كان آخرهما في { $due }). يُرسل هذا الإشعار عبر القنوات نفسها التي أُرسل بها التحذير؛ وطُلب من محلل الاتصال هاتفيًا بجهة التصعيد لديكم ({ $contact }).
escalation-opening-other = فات تأكيدان للإجراءات للتحذير { $id } (كان آخرهما في { $due }). يُرسل هذا الإشعار عبر القنوات نفسها التي أُرسل بها التحذير؛ وطُلب من محلل التواصل معكم بطريقة أخرى.
notice-window = تبقى فترة التهديد قائمة حتى { $until }: حافظوا على إجراءاتكم حتى لو لم يحدث شيء لأيام.
notice-report = أبلغوا عن إجراءاتكم الحالية: { $link } .
notice-warning = --- التحذير ---
cancel-headline = أُلغي: { $headline }
cancel-opening = التحذير { $id } (الإصدار { $version }، الصادر في { $issued }) أُلغي اعتبارًا من { $at }: تجاهلوه.
cancel-reason = السبب: { $reason }
cancel-other = إذا كان تحذير آخر منا لا يزال ساريًا، فإن توصياته تبقى قائمة.
cancel-warning = --- التحذير الملغى ---

## البريد الإلكتروني و CAP: كلمات القناة حول التحذير
email-subject = [{ $tlp }] { $headline } (المرجع { $id })
email-measures = التدابير الموصى بها
email-valid = ساري من { $from } إلى { $until }.
email-reference = المرجع:
email-acknowledge = تأكيد الاستلام:
email-acknowledge-link = تأكيد استلام هذا التحذير
cap-event-violent = تهديد بهجوم عنيف
cap-event-network = تهديد بهجوم على الشبكات أو الخدمات
