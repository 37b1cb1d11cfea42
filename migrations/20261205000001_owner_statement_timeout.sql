-- Start-up used to run `ALTER ROLE CURRENT_USER SET statement_timeout` as the owner role, which
-- reached every session of that role on the whole cluster (the generator's VACUUM, psql,
-- backups). The timeout now belongs to the application role in this database only (see
-- api/src/startup.rs, set_app_statement_timeout); take the old one off the owner.
ALTER ROLE CURRENT_USER RESET statement_timeout;
