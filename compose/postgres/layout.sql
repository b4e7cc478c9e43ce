-- The platform's roles, database and schemas, applied by docker-entrypoint.sh at every start as the superuser on a
-- socket-only server. Idempotent: what exists is brought back to this state, what is missing is created.
--
--   pdpl_owner     owns the schemas and runs migrations (DDL); the API never logs in as it
--   pdpl_app       the API: reads and writes rows in schema pdpl, nothing else; bounded connections and statements
--   pdpl_readonly  reports and investigations: reads schema pdpl, writes nothing
--   pdpl_backup    pg_dump: reads every table (pg_read_all_data), writes nothing
-- None may create roles or databases, bypass row security or replicate; each has its own password.

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I', name)
  FROM unnest(ARRAY['pdpl_owner', 'pdpl_app', 'pdpl_readonly', 'pdpl_backup']) AS name
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec

-- The superuser logs in on the socket inside the container only (pg_hba.conf); its password is kept current anyway.
\set pw `cat -- :'superuser_pw_file'`
ALTER ROLE postgres PASSWORD :'pw';
\set pw `cat -- :'owner_pw_file'`
ALTER ROLE pdpl_owner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 3 PASSWORD :'pw';
\set pw `cat -- :'app_pw_file'`
ALTER ROLE pdpl_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT :app_limit PASSWORD :'pw';
\set pw `cat -- :'readonly_pw_file'`
ALTER ROLE pdpl_readonly WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 5 PASSWORD :'pw';
\set pw `cat -- :'backup_pw_file'`
ALTER ROLE pdpl_backup WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 3 PASSWORD :'pw';
\unset pw

GRANT pg_read_all_data TO pdpl_backup;

-- A runaway query or a transaction left open by a bug holds locks and a connection; both end on their own.
ALTER ROLE pdpl_app SET statement_timeout = :'app_statement_timeout';
ALTER ROLE pdpl_app SET idle_in_transaction_session_timeout = :'app_idle_timeout';
ALTER ROLE pdpl_readonly SET statement_timeout = '5min';
ALTER ROLE pdpl_readonly SET idle_in_transaction_session_timeout = '10min';
ALTER ROLE pdpl_readonly SET default_transaction_read_only = on;
ALTER ROLE pdpl_backup SET default_transaction_read_only = on;
ALTER ROLE pdpl_owner SET search_path = pdpl;
ALTER ROLE pdpl_app SET search_path = pdpl;
ALTER ROLE pdpl_readonly SET search_path = pdpl;

SELECT format('CREATE DATABASE %I OWNER pdpl_owner', :'db')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO pdpl_owner;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO pdpl_app, pdpl_readonly, pdpl_backup;

\connect :"db"

-- Nobody creates objects in public, not even the database's owner (public belongs to the database owner by
-- default); the platform's tables live in schema pdpl, its migration history apart.
ALTER SCHEMA public OWNER TO postgres;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS pdpl AUTHORIZATION pdpl_owner;
CREATE SCHEMA IF NOT EXISTS pdpl_migrations AUTHORIZATION pdpl_owner;
REVOKE ALL ON SCHEMA pdpl, pdpl_migrations FROM PUBLIC;
GRANT USAGE ON SCHEMA pdpl TO pdpl_app, pdpl_readonly;

-- Rights on tables the owner creates later (migrations), and on those that already exist.
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner IN SCHEMA pdpl
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO pdpl_app;
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner IN SCHEMA pdpl GRANT USAGE, SELECT ON SEQUENCES TO pdpl_app;
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner IN SCHEMA pdpl GRANT SELECT ON TABLES TO pdpl_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pdpl TO pdpl_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA pdpl TO pdpl_app;
GRANT SELECT ON ALL TABLES IN SCHEMA pdpl TO pdpl_readonly;
