-- Run once, when the PostgreSQL volume is created: Rasa's conversations get their own
-- database beside the records API's (MEMBERDESK_TRACKER_DB_NAME).
CREATE DATABASE memberdesk_tracker OWNER memberdesk;
