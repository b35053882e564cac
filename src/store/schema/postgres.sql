table callback_events
  id bigint not null generated always as identity
  dedupe_key text not null
  kind text not null
  provider_sid text not null
  message_id text
  status text not null
  provider_error_code integer
  params text not null
  received_at bigint not null
  applied_at bigint
  orphan integer not null default 0
  constraint callback_events_dedupe_key_key UNIQUE (dedupe_key)
  constraint callback_events_pkey PRIMARY KEY (id)
  CREATE UNIQUE INDEX callback_events_dedupe_key_key ON callback_events USING btree (dedupe_key)
  CREATE UNIQUE INDEX callback_events_pkey ON callback_events USING btree (id)
  CREATE INDEX callbacks_unapplied ON callback_events USING btree (kind, orphan, id) WHERE (applied_at IS NULL)

table contacts
  tenant_id text not null
  recipient text not null
  first_at bigint not null
  constraint contacts_pkey PRIMARY KEY (tenant_id, recipient)
  CREATE UNIQUE INDEX contacts_pkey ON contacts USING btree (tenant_id, recipient)

table country_blocks
  country text not null
  reason text not null
  blocked_at bigint not null
  constraint country_blocks_pkey PRIMARY KEY (country)
  CREATE UNIQUE INDEX country_blocks_pkey ON country_blocks USING btree (country)

table gateway_switches
  name text not null
  enabled integer not null
  updated_at bigint not null
  constraint gateway_switches_pkey PRIMARY KEY (name)
  CREATE UNIQUE INDEX gateway_switches_pkey ON gateway_switches USING btree (name)

table message_attempts
  id bigint not null generated always as identity
  message_id text not null
  attempt integer not null
  sender text not null
  started_at bigint not null
  finished_at bigint
  outcome text not null
  http_status integer
  provider_sid text
  provider_error_code integer
  error_code text
  constraint message_attempts_pkey PRIMARY KEY (id)
  CREATE INDEX attempts_message ON message_attempts USING btree (message_id, attempt)
  CREATE UNIQUE INDEX message_attempts_pkey ON message_attempts USING btree (id)

table message_events
  id bigint not null generated always as identity
  message_id text not null
  status text not null
  at bigint not null
  provider_error_code integer
  source text not null
  constraint message_events_pkey PRIMARY KEY (id)
  CREATE INDEX events_message ON message_events USING btree (message_id, id)
  CREATE UNIQUE INDEX message_events_pkey ON message_events USING btree (id)

table messages
  seq bigint not null generated always as identity
  id text not null
  tenant_id text not null
  idempotency_key text
  payload_hash text not null
  channel text not null
  purpose text not null
  recipient text not null
  country text not null
  body text
  body_hash text
  content_sid text
  content_variables text
  media_urls text
  user_id text
  correlation_id text
  pool_id text not null
  sender text
  order_key text
  status text not null
  status_rank integer not null
  attempts integer not null default 0
  next_attempt_at bigint not null
  last_delay_ms bigint not null default 0
  lease_owner text
  lease_expires_at bigint
  needs_reconcile integer not null default 0
  provider_sid text
  error_code text
  provider_error_code integer
  error_message text
  created_at bigint not null
  updated_at bigint not null
  submitted_at bigint
  sent_at bigint
  final_at bigint
  template_id text
  template_version integer
  template_locale text
  policy_reason text
  constraint messages_id_key UNIQUE (id)
  constraint messages_pkey PRIMARY KEY (seq)
  CREATE INDEX messages_due ON messages USING btree (pool_id, next_attempt_at, seq) WHERE (status = 'queued'::text)
  CREATE UNIQUE INDEX messages_id_key ON messages USING btree (id)
  CREATE INDEX messages_lease ON messages USING btree (lease_expires_at) WHERE (status = 'sending'::text)
  CREATE INDEX messages_order ON messages USING btree (order_key, seq) WHERE ((order_key IS NOT NULL) AND (status = ANY (ARRAY['queued'::text, 'sending'::text])))
  CREATE UNIQUE INDEX messages_pkey ON messages USING btree (seq)
  CREATE UNIQUE INDEX messages_provider_sid ON messages USING btree (provider_sid) WHERE (provider_sid IS NOT NULL)
  CREATE UNIQUE INDEX messages_tenant_idem ON messages USING btree (tenant_id, idempotency_key) WHERE (idempotency_key IS NOT NULL)
  CREATE INDEX messages_tenant_seq ON messages USING btree (tenant_id, seq)

table opt_outs
  scope text not null
  recipient text not null
  opted_out integer not null
  keyword text not null
  updated_at bigint not null
  constraint opt_outs_pkey PRIMARY KEY (scope, recipient)
  CREATE UNIQUE INDEX opt_outs_pkey ON opt_outs USING btree (scope, recipient)

table pacing_state
  key text not null
  tat double precision not null
  rate_factor double precision not null default 1
  updated_at bigint not null
  constraint pacing_state_pkey PRIMARY KEY (key)
  CREATE UNIQUE INDEX pacing_state_pkey ON pacing_state USING btree (key)

table policy_counters
  key text not null
  value double precision not null
  expires_at bigint not null
  constraint policy_counters_pkey PRIMARY KEY (key)
  CREATE INDEX policy_counters_expiry ON policy_counters USING btree (expires_at)
  CREATE UNIQUE INDEX policy_counters_pkey ON policy_counters USING btree (key)

table sb_migrations
  name character varying not null
  timestamp character varying not null
  constraint sb_migrations_pkey PRIMARY KEY (name)
  CREATE UNIQUE INDEX sb_migrations_pkey ON sb_migrations USING btree (name)

table sb_migrations_lock
  id character varying not null
  is_locked integer not null default 0
  constraint sb_migrations_lock_pkey PRIMARY KEY (id)
  CREATE UNIQUE INDEX sb_migrations_lock_pkey ON sb_migrations_lock USING btree (id)

table sticky_senders
  key text not null
  pool_id text not null
  sender text not null
  updated_at bigint not null
  constraint sticky_senders_pkey PRIMARY KEY (key)
  CREATE UNIQUE INDEX sticky_senders_pkey ON sticky_senders USING btree (key)

table whatsapp_sessions
  recipient text not null
  sender text not null
  last_inbound_at bigint not null
  constraint whatsapp_sessions_pkey PRIMARY KEY (recipient, sender)
  CREATE UNIQUE INDEX whatsapp_sessions_pkey ON whatsapp_sessions USING btree (recipient, sender)
