-- The chat reference schema: one example schema among others (pgshape is schema-generic).
-- Unqualified names: the tables land in the current search_path (the loader sets it to
-- --schema). Keys are plain bigint, not identity, so that loaders supply them.

CREATE TYPE conversation_kind AS ENUM ('direct', 'group', 'channel');

CREATE TABLE users (
    id            bigint      PRIMARY KEY,
    created_at    timestamptz NOT NULL,
    handle        text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    email         text        NOT NULL UNIQUE,
    college_id    text        NOT NULL,
    verified_at   timestamptz,
    last_seen_at  timestamptz NOT NULL
);

CREATE TABLE conversations (
    id          bigint            PRIMARY KEY,
    created_at  timestamptz       NOT NULL,
    kind        conversation_kind NOT NULL,
    title       text,
    created_by  bigint            NOT NULL REFERENCES users (id)
);

CREATE TABLE conversation_users (
    conversation_id  bigint      NOT NULL REFERENCES conversations (id),
    user_id          bigint      NOT NULL REFERENCES users (id),
    joined_at        timestamptz NOT NULL,
    role             text        NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);

CREATE TABLE messages (
    id               bigint      PRIMARY KEY,
    conversation_id  bigint      NOT NULL REFERENCES conversations (id),
    sender_id        bigint      NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL,
    content          text        NOT NULL,
    reply_to_id      bigint      REFERENCES messages (id),
    edited_at        timestamptz
);

CREATE TABLE message_reads (
    message_id  bigint      NOT NULL REFERENCES messages (id),
    user_id     bigint      NOT NULL REFERENCES users (id),
    read_at     timestamptz NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE TABLE attachments (
    id          bigint      PRIMARY KEY,
    message_id  bigint      NOT NULL REFERENCES messages (id),
    kind        text        NOT NULL,
    byte_size   bigint      NOT NULL,
    mime        text        NOT NULL,
    created_at  timestamptz NOT NULL
);

-- What a real chat application would index.
CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at);
CREATE INDEX messages_sender_idx ON messages (sender_id);
CREATE INDEX messages_reply_to_idx ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL;
CREATE INDEX conversation_users_user_idx ON conversation_users (user_id);
CREATE INDEX message_reads_user_read_idx ON message_reads (user_id, read_at);
CREATE INDEX attachments_message_idx ON attachments (message_id);
CREATE INDEX conversations_created_by_idx ON conversations (created_by);
CREATE INDEX users_college_idx ON users (college_id);
CREATE INDEX users_last_seen_idx ON users (last_seen_at);
