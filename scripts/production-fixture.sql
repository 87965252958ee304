-- A production-like chat database, in pure SQL, for tests and the demo.
--
--   psql -v ON_ERROR_STOP=1 -v scale=1 -f scripts/production-fixture.sql "$URL"   # into an EMPTY database
--
-- Independent of pgshape's generator (so tests that compare the two are not circular). At
-- scale 1: about 20,000 users, 8,000 conversations and 1,000,000 messages. Deterministic: the
-- same scale gives the same database (setseed, no parallel plans).
--
-- Shape: heavy-tailed messages per conversation (lognormal, median 15, 7 % without messages),
-- participants by conversation kind, power users, diurnal (peaks ~10:00 and ~20:00 UTC) and
-- weekly (quiet weekends) arrival, senders who are participants, replies to earlier messages of
-- the same conversation, reads by other participants after the message, attachments.
--
-- Canary PII from tests/fixtures/canaries.tsv is planted in users and in message content: the
-- sampler must never let any of it out.

\if :{?scale}
\else
  \set scale 1
\endif

\ir ../specs/chat/schema.sql

SET max_parallel_workers_per_gather = 0;
SET synchronous_commit = off;
SELECT setseed(0.42) AS seeded \gset

CREATE TEMP TABLE params AS
SELECT greatest(60, round(20000 * :scale))::int AS n_users,
       greatest(40, round(8000 * :scale))::int AS n_conversations,
       greatest(300, round(60000 * :scale))::int AS max_messages,
       timestamptz '2026-11-01 00:00:00+00' AS anchor,
       interval '60 days' AS span;

-- Word list for sentence-like content and names.
CREATE TEMP TABLE words AS
SELECT row_number() OVER () AS i, w
FROM unnest(string_to_array(
  'the a to and of in is it you that for on are with have be at this not was but they so what '
  'can we just like get do if about all out up your when there one will time no how me my know '
  'think good see meeting lecture today tomorrow tonight class project deadline exam library '
  'lab notes slides assignment group chat coffee lunch dinner weekend game practice team coach '
  'question answer thanks sure okay great awesome sorry late early room building campus bus '
  'train parking schedule update draft review submit grade professor seminar thesis paper '
  'reading chapter problem set homework office hours quiz midterm final break trip party '
  'music movie show photo link file doc sheet code bug fix deploy server test build release', ' ')) AS w;

CREATE TEMP TABLE corpus AS
SELECT string_agg(words.w, ' ' ORDER BY pick.g) AS txt
FROM (SELECT g, 1 + floor(random() * (SELECT count(*) FROM words))::int AS k
      FROM generate_series(1, 80000) g) pick
JOIN words ON words.i = pick.k;

-- Content is cut from 5,000-character pieces stored uncompressed: a substring of one large
-- toasted value would decompress all of it for every message.
CREATE TEMP TABLE corpus_chunks (id int PRIMARY KEY, txt text);
ALTER TABLE corpus_chunks ALTER COLUMN txt SET STORAGE PLAIN;
INSERT INTO corpus_chunks
SELECT g, substr(txt, (g - 1) * 5000 + 1, 5000)
FROM corpus, generate_series(1, length(txt) / 5000) g;

CREATE TEMP TABLE first_names AS
SELECT row_number() OVER () AS i, n FROM unnest(ARRAY['Ava','Liam','Maya','Noah','Zoe','Ethan','Isla','Lucas','Nora','Owen',
  'Ruby','Felix','Iris','Hugo','Lena','Omar','Priya','Kenji','Sofia','Mateo','Aisha','Jonas','Chloe','Dev']) n;
CREATE TEMP TABLE last_names AS
SELECT row_number() OVER () AS i, n FROM unnest(ARRAY['Smith','Garcia','Chen','Okafor','Novak','Silva','Kim','Patel',
  'Muller','Rossi','Haddad','Ivanova','Tanaka','Dubois','Larsen','Mendes','Walsh','Costa','Singh','Nguyen']) n;

-- A timestamp profile: day chosen uniformly in [lo, hi), weekends thinned, hour from a two-peak
-- mixture (10:00 and 20:00), minute and second uniform.
CREATE FUNCTION pg_temp.arrival(lo timestamptz, hi timestamptz) RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
  d timestamptz;
  h double precision;
BEGIN
  IF hi <= lo THEN
    RETURN lo;
  END IF;
  FOR attempt IN 1..8 LOOP
    d := date_trunc('day', lo + random() * (hi - lo));
    EXIT WHEN extract(isodow FROM d) < 6 OR random() < 0.55;
  END LOOP;
  IF random() < 0.5 THEN
    h := 10 + 3.0 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random());
  ELSE
    h := 20 + 2.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random());
  END IF;
  h := h - 24 * floor(h / 24);
  d := d + h * interval '1 hour';
  RETURN least(greatest(d, lo), hi);
END $$;

-- Users, with power users at low ids (they join and post most).
INSERT INTO users (id, created_at, handle, display_name, email, college_id, verified_at, last_seen_at)
SELECT u.id,
       u.created_at,
       lower(f.n) || '_' || lower(l.n) || '_' || u.id,
       f.n || ' ' || l.n,
       lower(f.n) || '.' || lower(l.n) || u.id || '@example-college.edu',
       'C' || lpad((100000 + (u.id * 7919) % 900000)::text, 6, '0'),
       CASE WHEN random() < 0.7 THEN u.created_at + random() * interval '3 days' END,
       u.created_at + random() * (p.anchor - u.created_at)
FROM params p,
     LATERAL (SELECT g AS id, pg_temp.arrival(p.anchor - p.span - interval '120 days', p.anchor - interval '1 day') AS created_at,
                     1 + floor(random() * 24)::int AS fi, 1 + floor(random() * 20)::int AS li
              FROM generate_series(1, p.n_users) g) u
JOIN first_names f ON f.i = u.fi
JOIN last_names l ON l.i = u.li;

-- Conversations: kind, heavy-tailed message count, participant count.
CREATE TEMP TABLE conv_plan AS
SELECT g AS id,
       pg_temp.arrival(p.anchor - p.span, p.anchor - interval '2 hours') AS created_at,
       k.kind,
       CASE WHEN random() < 0.07 THEN 0
            ELSE least(p.max_messages, floor(exp(ln(15) + 2.1 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::int + 1)
       END AS n_messages,
       CASE k.kind WHEN 'direct' THEN 2
                   WHEN 'group' THEN 3 + floor(power(random(), 2) * 47)::int
                   ELSE least(p.n_users, 10 + floor(power(random(), 3) * 290)::int)
       END AS n_participants
FROM params p,
     generate_series(1, p.n_conversations) g,
     LATERAL (SELECT (CASE WHEN r < 0.6 THEN 'direct' WHEN r < 0.9 THEN 'group' ELSE 'channel' END)::conversation_kind AS kind
              FROM (SELECT random() + 0 * g AS r) x) k;

-- Participants: distinct users per conversation, skewed towards power users.
CREATE TEMP TABLE cu_plan AS
SELECT c.id AS conversation_id, cand.user_id,
       c.created_at + random() * interval '1 hour' AS joined_at,
       CASE WHEN cand.rn = 1 THEN 'owner' WHEN random() < 0.08 THEN 'admin' ELSE 'member' END AS role
FROM conv_plan c
CROSS JOIN LATERAL (
  SELECT user_id, row_number() OVER (ORDER BY min(g)) AS rn
  FROM (SELECT g, 1 + floor(power(random(), 2.5) * (SELECT n_users FROM params))::bigint + 0 * c.id AS user_id
        FROM generate_series(1, c.n_participants * 2) g) x
  GROUP BY user_id
  ORDER BY min(g)
  LIMIT c.n_participants
) cand;

INSERT INTO conversations (id, created_at, kind, title, created_by)
SELECT c.id, c.created_at, c.kind,
       CASE WHEN c.kind <> 'direct' THEN initcap(substr((SELECT txt FROM corpus), 1 + floor(random() * 100000)::int, 8 + floor(random() * 20)::int)) END,
       o.user_id
FROM conv_plan c
JOIN cu_plan o ON o.conversation_id = c.id AND o.role = 'owner';

INSERT INTO conversation_users (conversation_id, user_id, joined_at, role)
SELECT conversation_id, user_id, joined_at, role FROM cu_plan;

CREATE TEMP TABLE parts AS
SELECT conversation_id, array_agg(user_id ORDER BY user_id) AS users
FROM conversation_users GROUP BY conversation_id;

-- Messages, ids in arrival order as a sequence would give them.
CREATE TEMP TABLE msg AS
SELECT c.id AS conversation_id,
       pa.users[1 + floor(random() * cardinality(pa.users))::int] AS sender_id,
       pg_temp.arrival(c.created_at + interval '1 hour',
                       least(p.anchor, c.created_at + interval '1 hour' + interval '1 day' * (1 + 40 * random()))) AS created_at,
       1 + floor(random() * (SELECT count(*) FROM corpus_chunks))::int AS chunk,
       1 + floor(random() * 1000)::int AS content_at,
       least(3800, greatest(1, floor(exp(ln(40) + 1.1 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::int)) AS content_len
FROM params p, conv_plan c
JOIN parts pa ON pa.conversation_id = c.id
CROSS JOIN LATERAL generate_series(1, c.n_messages) g;

CREATE TEMP TABLE msg_ranked AS
SELECT row_number() OVER (ORDER BY created_at, conversation_id, sender_id) AS id,
       row_number() OVER (PARTITION BY conversation_id ORDER BY created_at, sender_id) AS rank_in_conv,
       *
FROM msg;
CREATE INDEX ON msg_ranked (conversation_id, rank_in_conv);

INSERT INTO messages (id, conversation_id, sender_id, created_at, content, reply_to_id, edited_at)
SELECT m.id, m.conversation_id, m.sender_id, m.created_at,
       initcap(substr(co.txt, m.content_at, 1)) || substr(co.txt, m.content_at + 1, m.content_len - 1),
       NULL,
       CASE WHEN random() < 0.05 THEN m.created_at + random() * interval '30 minutes' END
FROM msg_ranked m
JOIN corpus_chunks co ON co.id = m.chunk;

-- Replies: 10 % of messages point to an earlier message of the same conversation.
UPDATE messages m SET reply_to_id = t.id
FROM (SELECT r.msg_id, e.id
      FROM (SELECT id AS msg_id, conversation_id,
                   greatest(1, rank_in_conv - 1 - floor(power(random(), 3) * (rank_in_conv - 1))::int) AS target_rank
            FROM msg_ranked
            WHERE rank_in_conv > 1 AND random() < 0.1) r
      JOIN msg_ranked e ON e.conversation_id = r.conversation_id AND e.rank_in_conv = r.target_rank) t
WHERE m.id = t.msg_id AND t.id < t.msg_id;

-- Reads: 0-3 other participants per message, after it was sent.
INSERT INTO message_reads (message_id, user_id, read_at)
SELECT DISTINCT ON (m.id, r.user_id) m.id, r.user_id, m.created_at + (1 + 600 * (-ln(1 - random()))) * interval '1 second'
FROM messages m
JOIN parts pa ON pa.conversation_id = m.conversation_id
CROSS JOIN LATERAL (
  SELECT pa.users[1 + floor(random() * cardinality(pa.users))::int] + 0 * m.id AS user_id
  FROM generate_series(1, least(3, cardinality(pa.users) - 1) * (random() < 0.7)::int)
) r
WHERE r.user_id <> m.sender_id;

-- Attachments on 5 % of messages, kind and mime consistent, sizes heavy-tailed.
INSERT INTO attachments (id, message_id, kind, byte_size, mime, created_at)
SELECT row_number() OVER (ORDER BY m.id), m.id, a.kind,
       greatest(100, floor(exp(ln(200000) + 1.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))::bigint,
       a.mime, m.created_at
FROM messages m
CROSS JOIN LATERAL (
  SELECT (ARRAY['image','image','image','file','file','video','audio'])[k] AS kind,
         (ARRAY['image/jpeg','image/png','image/gif','application/pdf','application/zip','video/mp4','audio/mpeg'])[k] AS mime
  FROM (SELECT 1 + floor(random() * 7)::int + 0 * m.id AS k) x
) a
WHERE random() < 0.05;

-- Canary PII (tests/fixtures/canaries.tsv): in user columns...
UPDATE users SET email = 'canary.zebra.71@pgshape-canary.test', display_name = 'Quintessa Vandermolen' WHERE id = 1;
UPDATE users SET email = 'quintessa.vandermolen@example-college.edu', display_name = 'Orrin Blackwood' WHERE id = 2;
UPDATE users SET email = 'orrin.blackwood.9@pgshape-canary.test', display_name = 'Thaddeus Quillfeather' WHERE id = 3;
-- ...and inside message content, as people write it.
UPDATE messages SET content = v.txt
FROM (VALUES
  (1,  'call me at +1-415-555-0172 after class'),
  (2,  'my uk number is +44 20 7946 0958'),
  (3,  'office line (212) 555-0147 ask for Thaddeus Quillfeather'),
  (4,  'for the form my ssn is 512-47-8391'),
  (5,  'ssn 623-18-4470 on the scholarship sheet'),
  (6,  'the old card had 078-05-1120 printed on it'),
  (7,  'pay with 4111111111111111 exp 12/29'),
  (8,  'use my other card 5555555555554444'),
  (9,  'amex 378282246310005 is fine'),
  (10, 'wire it to GB82WEST12345698765432 please'),
  (11, 'german account DE89370400440532013000'),
  (12, 'iban FR1420041010050500013M02606 for the deposit'),
  (13, 'the server is at 203.0.113.77'),
  (14, 'ssh from 198.51.100.23 failed'),
  (15, 'blocked 192.0.2.146 again'),
  (16, 'ask Quintessa Vandermolen or Orrin Blackwood'),
  (17, 'mail canary.zebra.71@pgshape-canary.test or orrin.blackwood.9@pgshape-canary.test'),
  (18, 'her address is quintessa.vandermolen@example-college.edu')
) AS v(n, txt)
WHERE messages.id = (SELECT max(id) FROM messages) - v.n * 7;

ANALYZE;
