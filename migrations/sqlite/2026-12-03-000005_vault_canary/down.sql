DROP TABLE vault_canary;
