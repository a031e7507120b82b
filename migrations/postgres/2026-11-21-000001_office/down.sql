DROP TABLE credentials;
DROP TABLE api_keys;
DROP TABLE grants;
DROP TABLE users;
DROP TABLE clients;
