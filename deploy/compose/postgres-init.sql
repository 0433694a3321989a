-- Run once, when the PostgreSQL volume is created: Rasa's conversations get their own
-- database beside the records API's (MEMBERDESK_TRACKER_DB_NAME), and so do the requests the
-- action server keeps while the records API is down (MEMBERDESK_PENDING_STORE_URL).
CREATE DATABASE memberdesk_tracker OWNER memberdesk;
CREATE DATABASE memberdesk_pending OWNER memberdesk;
