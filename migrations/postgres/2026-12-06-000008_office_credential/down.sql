UPDATE credentials SET valid_until = NULL WHERE kind = 'ksef_token' AND valid_until = '2027-11-30 22:59:59';
DROP TABLE office_access;
DROP TABLE office_credentials;
ALTER TABLE clients DROP COLUMN credential_mode;
