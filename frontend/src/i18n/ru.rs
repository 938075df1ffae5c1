//! Русский.

use super::{russian_plural, FileStrings, SearchStrings, Strings};
use chat_shared::files::UploadErrorCode;
use chat_shared::search::{QueryError, MAX_QUERY_CHARS, MAX_QUERY_TERMS};
use chat_shared::{
    AuditAction, AuditEntry, ErrorCode, ForbiddenReason, MessageError, RoomError, UsernameError,
    MAX_MESSAGE_CHARS, MAX_ROOM_CHARS, MAX_USERNAME_CHARS,
};

/// The Russian interface: the original chat was written for Russian speakers.
pub(crate) static STRINGS: Strings = Strings {
    files: FILES,
    search: SEARCH,
    app_title: "WebSocket Chat",
    tagline: "Живой чат прямо в браузере.",
    join_heading: "Присоединяйтесь к разговору",
    name_label: "Ваше имя",
    name_placeholder: "например, Алиса",
    join_button: "Войти",
    joining: "Входим…",
    device_revoked: |name| format!("Это устройство отвязано от имени {name}."),
    name_error,
    message_error,
    server_error,
    connection_lost: "Соединение прервалось раньше, чем сервер подтвердил это сообщение.",
    status_connecting: "Подключение…",
    status_online: "В сети",
    status_retrying: "Переподключение…",
    status_reconnecting_in: |s| format!("Переподключение через {s} с"),
    status_kept: "Сообщения, сохранённые на устройстве",
    retry_now: "Повторить сейчас",
    messages_label: "Сообщения",
    empty_conversation: "Сообщений пока нет. Поздоровайтесь!",
    earlier_messages: "Ранее в чате",
    new_messages: |n| {
        format!(
            "{n} {}",
            russian_plural(n, "новое сообщение", "новых сообщения", "новых сообщений")
        )
    },
    // Present tense keeps these free of grammatical gender.
    user_joined: |name| format!("{name} заходит в чат"),
    user_left: |name| format!("{name} выходит из чата"),
    you: "вы",
    sending: "Отправка…",
    queued: "Ждёт соединения…",
    not_delivered: "Не доставлено",
    resend: "Отправить снова",
    discard: "Удалить",
    skip_to_composer: "Перейти к полю сообщения",
    composer_label: "Сообщение",
    composer_placeholder: "Напишите сообщение…",
    composer_offline: "Нет соединения: написанное сейчас уйдёт, когда оно восстановится.",
    composer_hint: "Enter отправляет, Shift+Enter переносит строку",
    send: "Отправить",
    chars_left: |n| {
        let verb = russian_plural(n, "Остался", "Осталось", "Осталось");
        format!(
            "{verb} {n} {}",
            russian_plural(n, "символ", "символа", "символов")
        )
    },
    chars_over: |n| {
        format!(
            "На {n} {} больше допустимого",
            russian_plural(n, "символ", "символа", "символов")
        )
    },
    typing_one: |a| format!("{a} печатает…"),
    typing_two: |a, b| format!("{a} и {b} печатают…"),
    typing_many: "Несколько человек печатают…",
    online_heading: "В сети",
    online_count: |n| format!("{n} в сети"),
    show_online: |n| format!("{n} в сети, показать список"),
    more_online: |n| format!("ещё {n}, показать"),
    mention_label: |name| format!("Упомянуть {name}"),
    message_person: "Написать",
    message_person_label: |name| format!("Написать {name} лично"),
    close: "Закрыть",
    new_version: "Доступна новая версия.",
    reload: "Обновить",
    ios_install_hint: "Чтобы установить чат на это устройство, нажмите «Поделиться», затем «На экран „Домой“». На iPhone и iPad только так чат сможет присылать уведомления без открытой вкладки.",
    got_it: "Понятно",
    language: "Язык",
    rooms_heading: "Комнаты",
    dms_heading: "Личные сообщения",
    news: "новые сообщения",
    leave_room_label: |room| format!("Покинуть #{room}"),
    new_room_label: "Открыть или создать комнату",
    new_room_placeholder: "название",
    open_room: "Открыть",
    room_error,
    room_label: |room| format!("Комната {room}"),
    loading_older: "Загружаем более ранние сообщения…",
    history_start: |room| format!("Это самое начало комнаты #{room}."),
    dm_label: |names| format!("Личные сообщения: {names}"),
    dm_start: |names| format!("Это самое начало вашей переписки: {names}."),
    leave: "Выйти",
    room_locked_notice: "Эта комната только для чтения: её закрыл модератор.",
    moderator: "Модератор",
    moderator_on: "Модерирую",
    moderator_token_label: "Токен модератора",
    moderator_unlock: "Войти",
    moderator_off: "Перестать модерировать",
    token_wrong: "Это не токен модератора.",
    token_slow: "Слишком много неверных токенов: подождите минуту и попробуйте снова.",
    profile_label: |name| format!("{name}: ваш профиль и устройства"),
    profile_heading: "Ваше имя",
    link_device: "Привязать другое устройство",
    link_device_hint: "Откройте эту ссылку или отсканируйте код на другом устройстве: \
        оно войдёт под вашим именем.",
    link_qr_label: "QR-код ссылки",
    link_field_label: "Ссылка для другого устройства",
    copy: "Копировать",
    copied: "Скопировано",
    link_expires_in: |secs| format!("Действует ещё {}:{:02}", secs / 60, secs % 60),
    link_expired: "Срок ссылки истёк; запрашиваем новую…",
    devices_heading: "Ваши устройства",
    this_device: "это устройство",
    unknown_device: "Неизвестное устройство",
    device_seen: |first, last| format!("Впервые: {first}, последний раз: {last}"),
    revoke: "Отвязать",
    revoke_label: |device| format!("Отвязать {device} от вашего имени"),
    confirm_revoke: "Точно отвязать?",
    release_name: "Отказаться от имени",
    release_hint: "Тогда его сможет взять кто угодно, а ваши устройства его потеряют.",
    confirm_release: "Точно отказаться?",
    name_released: "Вы отказались от имени: теперь его может взять кто угодно.",
    name_not_held: "Это имя не закреплено за вами: после вашего ухода его может взять кто угодно.",
    name_not_held_why: "Имя закрепляется за устройством, которое первым вошло с ним, \
        пока от него не откажутся. От этого имени отказались, или сервер не закрепляет имена.",
    delete: "Удалить",
    confirm_delete: "Удалить для всех",
    delete_label: |name| format!("Удалить сообщение от {name}"),
    ban: "Забанить",
    ban_label: |name| format!("Забанить {name}"),
    ban_length_label: |name| format!("На сколько забанить {name}"),
    ban_lengths: ["5 минут", "1 час", "1 день", "1 неделя"],
    lock_room: "Закрыть комнату",
    unlock_room: "Открыть комнату",
    read_only: "только чтение",
    topic_label: "Тема комнаты",
    edit_topic: "Изменить тему",
    save: "Сохранить",
    cancel: "Отмена",
    audit_heading: "Журнал модерации",
    audit_empty: "Пока ничего не модерировали.",
    audit_line,
    message_actions: "Действия с сообщением",
    reply: "Ответить",
    reply_label: |name| format!("Ответить {name}"),
    react: "Реакция",
    edit: "Изменить",
    edit_label: "Изменить своё сообщение",
    delete_mine_label: "Удалить своё сообщение",
    report: "Пожаловаться",
    report_label: |name| format!("Пожаловаться модераторам на сообщение от {name}"),
    report_prompt: "Почему вы жалуетесь на это сообщение? (необязательно)",
    reported: "Спасибо: модераторы увидят это сообщение.",
    confirm_delete_mine: "Точно удалить?",
    confirm_delete_mine_label: "Точно удалить? Нажмите ещё раз, чтобы удалить сообщение",
    reaction_label: |emoji, users| format!("{emoji} {}", users.join(", ")),
    edited: "(изменено)",
    edited_at: |time| format!("Изменено {time}"),
    message_deleted: "сообщение удалено",
    quote_label: |name| format!("Ответ {name}: показать исходное сообщение"),
    replying_to: |name| format!("Ответ {name}"),
    cancel_reply: "Отменить ответ",
    editing: "Изменение сообщения",
    cancel_edit: "Отменить изменение",
    composer_edit_hint: "Enter сохраняет, Escape отменяет",
    gap: "Часть сообщений между этими не показана",
    not_yours: "Изменять и удалять можно только сообщения, отправленные из этого браузера.",
    unread_divider: "Новые сообщения",
    jump_to_unread: "К первому непрочитанному",
    mark_as_read: "Отметить прочитанным",
    unread_count: |n| {
        format!(
            "{n} {}",
            russian_plural(n, "непрочитанное", "непрочитанных", "непрочитанных")
        )
    },
    mention_count: |n| {
        format!(
            "{n} {}",
            russian_plural(n, "упоминание", "упоминания", "упоминаний")
        )
    },
    calls_you: "упоминает вас",
    mention_options: "Кого упомянуть",
    level_label: |room| format!("Уведомления: {room}"),
    level_all: "Все сообщения",
    level_mentions: "Упоминания и ответы",
    level_none: "Ничего",
    notify_hint: "Получайте уведомление, когда вас зовут, пока эта вкладка скрыта.",
    notify_enable: "Включить уведомления",
    notify_title: |author, room| format!("{author} в {room}"),
    push_setting: "Уведомлять на этом устройстве, когда ни одна вкладка чата не открыта",
    push_blocked: "Уведомления для этого сайта запрещены в настройках браузера.",
};

/// Files on messages, in Russian.
const FILES: FileStrings = FileStrings {
    attach: "Прикрепить файлы",
    camera: "Сделать фото",
    chosen_label: "Файлы к отправке",
    remove: |name| format!("Убрать {name}"),
    cancel: |name| format!("Отменить загрузку {name}"),
    retry: "Повторить",
    waiting: "Ждёт загрузки",
    uploading: |percent| format!("Загрузка, {percent}%"),
    uploaded: "Загружен",
    upload_error,
    too_large: |name, max| format!("{name} больше {max}, предела этого чата: файл не прикреплён."),
    too_many: |n| {
        format!(
            "К сообщению можно прикрепить не больше {n} {}.",
            russian_plural(n, "файла", "файлов", "файлов")
        )
    },
    drop_here: "Отпустите файлы, чтобы прикрепить их",
    waiting_for_files: "Уйдёт, когда загрузятся файлы",
    file_count: |n| format!("{n} {}", russian_plural(n, "файл", "файла", "файлов")),
    download: "Скачать",
    download_name: |name| format!("Скачать {name}"),
    open_image: |name| format!("Открыть {name}"),
    viewer_label: "Просмотр изображений",
    previous: "Предыдущее изображение",
    next: "Следующее изображение",
    position: |at, of| format!("{at} из {of}"),
};

/// Поиск.
const SEARCH: SearchStrings = SearchStrings {
    open: "Поиск",
    open_hint: "Искать сообщения (Ctrl+K или /)",
    input_label: "Искать сообщения",
    placeholder: "Слова, \"фраза\", from:имя, in:комната, has:file, after:2026-01-31",
    scope_label: "Где",
    everywhere: "Во всех моих комнатах",
    this_room: "В этой комнате",
    order_label: "Порядок",
    newest: "Сначала новые",
    best: "По релевантности",
    results_label: "Результаты",
    searching: "Ищем…",
    found: |n, more| {
        let word = russian_plural(n, "сообщение", "сообщения", "сообщений");
        match more {
            false => format!("Найдено: {n} {word}"),
            true => format!("Найдено: {n} {word}, есть ещё"),
        }
    },
    nothing: "Ничего не найдено",
    more: "Показать ещё",
    query_error: search_query_error,
    refused: |_| "Сервер не понял этот поиск.".into(),
    rate_limited: |secs| match secs {
        Some(s) => format!("Слишком много поисков: попробуйте через {s} с."),
        None => "Слишком много поисков: попробуйте чуть позже.".into(),
    },
    direct_message: "Личные сообщения",
    keys_hint: "↑ ↓ — выбрать, Enter — открыть, Esc — закрыть",
};

fn search_query_error(error: &QueryError) -> String {
    match error {
        QueryError::TooLong => format!("Поиск — не длиннее {MAX_QUERY_CHARS} символов."),
        QueryError::TooManyTerms => {
            format!("В поиске — не больше {MAX_QUERY_TERMS} слов и фраз.")
        }
        QueryError::BadDate(text) => {
            format!("«{text}» — не дата: пишите так: 2026-12-31.")
        }
        QueryError::UnknownFilter(text) => {
            format!("«{text}» — не фильтр: есть from:, in:, has:file, before: и after:.")
        }
        QueryError::BadRoom(text) => format!("«{text}» — не название комнаты."),
    }
}

fn upload_error(code: UploadErrorCode) -> String {
    match code {
        UploadErrorCode::BadRequest => "Сервер не принял эту загрузку.",
        UploadErrorCode::BadToken | UploadErrorCode::ExpiredToken | UploadErrorCode::WrongRoom => {
            "Загрузка не разрешена: попробуйте ещё раз."
        }
        UploadErrorCode::TooLarge => "Файл больше, чем принимает этот чат.",
        UploadErrorCode::OverQuota => "Вы загрузили слишком много: попробуйте позже.",
        UploadErrorCode::StorageFull => "На сервере нет места для новых файлов.",
        UploadErrorCode::BadImage => "Это изображение не читается.",
        UploadErrorCode::Incomplete => "Загрузка прервалась: попробуйте ещё раз.",
        UploadErrorCode::FilesOff => "Этот чат не принимает файлы.",
        UploadErrorCode::NotFound => "Этого файла больше нет.",
        UploadErrorCode::ServerError | UploadErrorCode::Unknown => {
            "Сервер не смог сохранить файл: попробуйте ещё раз."
        }
    }
    .into()
}

fn audit_line(entry: &AuditEntry) -> String {
    let who = &entry.moderator;
    let target = &entry.target;
    let detail = entry.detail.as_deref().unwrap_or_default();
    match entry.action {
        AuditAction::Delete => format!("{who} удалил(а) сообщение {target} ({detail})"),
        AuditAction::Ban => format!("{who} забанил(а) {target} на {detail}"),
        AuditAction::Lock => format!("{who} закрыл(а) #{target}"),
        AuditAction::Unlock => format!("{who} открыл(а) #{target}"),
        AuditAction::Topic => format!("{who} сменил(а) тему #{target}: {detail}"),
        AuditAction::Release => format!("{who} отказал(ась) от имени {target}"),
        AuditAction::FreeName => format!("{who} освободил(а) имя {target}"),
        AuditAction::Report => format!("{who} пожаловал(ась) на сообщение {target}: {detail}"),
        AuditAction::Unknown => format!("{who}: {target} {detail}"),
    }
}

fn room_error(error: &RoomError) -> String {
    match error {
        RoomError::Empty => "Введите название комнаты.".into(),
        RoomError::TooLong => format!(
            "В названии комнаты не больше {MAX_ROOM_CHARS} {}.",
            russian_plural(MAX_ROOM_CHARS as u64, "символа", "символов", "символов")
        ),
        RoomError::ForbiddenCharacter(_) => {
            "В названии комнаты можно использовать только буквы, цифры, - и _.".into()
        }
    }
}

fn name_error(error: &UsernameError) -> String {
    match error {
        UsernameError::Empty => "Введите имя хотя бы из одного видимого символа.".into(),
        UsernameError::TooLong => format!(
            "Имя слишком длинное: максимум {MAX_USERNAME_CHARS} {}.",
            russian_plural(MAX_USERNAME_CHARS as u64, "символ", "символа", "символов")
        ),
        UsernameError::ForbiddenCharacter(c) => format!(
            "Имя не может содержать невидимые или управляющие символы (U+{:04X}).",
            *c as u32
        ),
        UsernameError::NoLetterOrDigit => "В имени нужна хотя бы одна буква или цифра.".into(),
    }
}

fn message_error(error: &MessageError) -> String {
    match error {
        MessageError::Empty => "Сообщение не может быть пустым.".into(),
        MessageError::TooLong => format!(
            "Сообщение слишком длинное: максимум {MAX_MESSAGE_CHARS} {}.",
            russian_plural(MAX_MESSAGE_CHARS as u64, "символ", "символа", "символов")
        ),
        MessageError::NulCharacter => "Сообщение не может содержать символ NUL.".into(),
    }
}

fn server_error(code: ErrorCode, reason: Option<ForbiddenReason>, server_message: &str) -> String {
    match code {
        ErrorCode::InvalidUsername => "Такое имя недопустимо. Попробуйте другое.".into(),
        ErrorCode::NameTaken => "Это имя или очень похожее на него уже занято. Попробуйте другое.".into(),
        ErrorCode::EmptyMessage => message_error(&MessageError::Empty),
        ErrorCode::MessageTooLong => message_error(&MessageError::TooLong),
        ErrorCode::NotJoined => "Сначала войдите в чат.".into(),
        ErrorCode::AlreadyJoined => "Вы уже в чате.".into(),
        ErrorCode::BadRequest => "Сервер не понял запрос.".into(),
        ErrorCode::RateLimited => {
            "Вы отправляете слишком часто. Подождите немного и попробуйте снова.".into()
        }
        ErrorCode::InvalidRoom => "Такое название комнаты недопустимо: буквы, цифры, - и _.".into(),
        ErrorCode::ServerError => "Сервер не смог это сделать. Попробуйте ещё раз.".into(),
        ErrorCode::Forbidden => match reason {
            // An older server names no reason: it meant the join code.
            None | Some(ForbiddenReason::JoinCode) => {
                "Этот чат только по приглашениям: откройте ссылку-приглашение, которую вам прислали."
                    .into()
            }
            Some(ForbiddenReason::ModeratorToken) => STRINGS.token_wrong.into(),
            Some(ForbiddenReason::NotModerator) => "Это могут только модераторы.".into(),
            Some(ForbiddenReason::RoomLocked) => STRINGS.room_locked_notice.into(),
            Some(ForbiddenReason::NotAuthor) => STRINGS.not_yours.into(),
            Some(ForbiddenReason::NotMember) => "Эта беседа вам не открыта.".into(),
            Some(ForbiddenReason::NotHeld) => {
                "Это доступно только закреплённым именам; личные сообщения — тоже.".into()
            }
            Some(ForbiddenReason::Unknown) => server_message.into(),
        },
        ErrorCode::Banned => "Модератор временно закрыл вам доступ к этому чату.".into(),
        ErrorCode::NotFound => "Этого сообщения или пользователя здесь уже нет.".into(),
        ErrorCode::EditExpired => {
            "Это сообщение слишком старое, чтобы его менять; удалить его ещё можно.".into()
        }
        ErrorCode::NameHeld => "Это имя кому-то принадлежит. Если оно ваше, откройте \
            «Привязать другое устройство» на устройстве с этим именем и откройте ссылку здесь."
            .into(),
        ErrorCode::AttachmentNotFound => {
            "Этот файл не удалось отправить: загрузите его снова".into()
        }
        ErrorCode::BadSearch => "Такой поиск не понятен".into(),
        ErrorCode::InvalidSubscription => {
            "Сервер не принял подписку этого браузера на push-уведомления; уведомлений \
             без открытой вкладки не будет."
                .into()
        }
        ErrorCode::Unknown => server_message.into(),
    }
}
