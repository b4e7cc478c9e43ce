-- The platform's roles, database and schemas, applied by docker-entrypoint.sh at every start as the superuser on a
-- socket-only server. Every start puts the rights back to exactly this state: what is missing is created, and
-- anything granted by hand since (a membership, a right on a schema, a role setting, role-wide or per database)
-- is taken away first. The API's rights on its tables are the migrations' to grant: a start takes back from it
-- only what no migration grants (TRUNCATE, REFERENCES, TRIGGER, MAINTAIN).
--
--   pdpl_owner     owns the schemas and runs migrations (DDL); the API never logs in as it
--   pdpl_app       the API: only the rights on tables of schema pdpl that migrations grant it table by table
--                  (users: SELECT, INSERT); bounded connections and statements
--   pdpl_readonly  reports and investigations: reads schema pdpl, writes nothing
--   pdpl_backup    pg_dump: reads the platform's schemas, writes nothing
--   infisical      Infisical (compose/infisical.yml): owns database infisical and nothing else; it exists once a
--                  start was given its password (psql variable infisical = on), and cannot log in at a start that
--                  was not
-- None may create roles or databases, bypass row security or replicate, or belongs to another role; each has its
-- own password.

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I', name)
  FROM unnest(ARRAY['pdpl_owner', 'pdpl_app', 'pdpl_readonly', 'pdpl_backup']) AS name
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec
\if :infisical
SELECT 'CREATE ROLE infisical' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'infisical') \gexec
\endif
SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'infisical') AS infisical_role \gset

-- Memberships would hand one role another's rights (SET ROLE); the platform's roles have none, in either direction.
SELECT format('REVOKE %I FROM %I', granted.rolname, member.rolname)
  FROM pg_auth_members AS m
  JOIN pg_roles AS granted ON granted.oid = m.roleid
  JOIN pg_roles AS member ON member.oid = m.member
  WHERE member.rolname IN ('pdpl_owner', 'pdpl_app', 'pdpl_readonly', 'pdpl_backup', 'infisical')
     OR granted.rolname IN ('pdpl_owner', 'pdpl_app', 'pdpl_readonly', 'pdpl_backup', 'infisical') \gexec

-- Passwords come from files cleaned by the entrypoint (one trailing newline dropped, as the API reads them).
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
-- Infisical's pool holds 10 connections (knex, in Infisical's backend/src/db/instance.ts): room for a restart's.
\if :infisical
\set pw `cat -- :'infisical_pw_file'`
ALTER ROLE infisical WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 30 PASSWORD :'pw';
\elif :infisical_role
ALTER ROLE infisical WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD NULL;
\endif
\unset pw

-- Session defaults. A role may change its own defaults (PostgreSQL allows it), so each start sets them afresh.
-- A runaway query or a transaction left open by a bug holds locks and a connection; both end on their own.
ALTER ROLE pdpl_owner RESET ALL;
ALTER ROLE pdpl_app RESET ALL;
ALTER ROLE pdpl_readonly RESET ALL;
ALTER ROLE pdpl_backup RESET ALL;
\if :infisical_role
ALTER ROLE infisical RESET ALL;
\endif
-- Settings for one database outrank the role-wide ones, and a role may make them for itself too.
SELECT format('ALTER ROLE %I IN DATABASE %I RESET ALL', r.rolname, d.datname)
  FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase
  WHERE r.rolname IN ('pdpl_owner', 'pdpl_app', 'pdpl_readonly', 'pdpl_backup', 'infisical') \gexec
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
REVOKE ALL ON DATABASE :"db" FROM PUBLIC, pdpl_app, pdpl_readonly, pdpl_backup;
GRANT CONNECT ON DATABASE :"db" TO pdpl_app, pdpl_readonly, pdpl_backup;

-- Infisical's database: its role owns it (Infisical creates its tables at boot) and no one else may connect. Kept
-- when the role is locked, with whatever Infisical stored.
\if :infisical
SELECT 'CREATE DATABASE infisical OWNER infisical'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'infisical') \gexec
\endif
\if :infisical_role
REVOKE ALL ON DATABASE :"db" FROM infisical;
SELECT EXISTS (SELECT FROM pg_database WHERE datname = 'infisical') AS infisical_database \gset
\if :infisical_database
ALTER DATABASE infisical OWNER TO infisical;
REVOKE ALL ON DATABASE infisical FROM PUBLIC, pdpl_owner, pdpl_app, pdpl_readonly, pdpl_backup;
\endif
\endif

\connect :"db"

-- Tables in public mean a volume made before this layout (its data would be invisible to the API): stop, and say so.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')) THEN
    RAISE EXCEPTION 'schema public of database pdpl holds tables: this volume predates the platform''s database '
      'layout (issue #5), and the API would not see that data. Move the tables to schema pdpl, or recreate the '
      'volume if it holds nothing to keep (README.md, "Known limits")';
  END IF;
END
$$;

-- Nobody creates objects in public, not even the database's owner (public belongs to the database owner by
-- default); the platform's tables live in schema pdpl, its migration history apart.
ALTER SCHEMA public OWNER TO postgres;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS pdpl AUTHORIZATION pdpl_owner;
CREATE SCHEMA IF NOT EXISTS pdpl_migrations AUTHORIZATION pdpl_owner;
REVOKE ALL ON SCHEMA pdpl, pdpl_migrations FROM PUBLIC, pdpl_app, pdpl_readonly, pdpl_backup;
\if :infisical_role
REVOKE ALL ON SCHEMA public, pdpl, pdpl_migrations FROM infisical;
REVOKE ALL ON ALL TABLES IN SCHEMA pdpl, pdpl_migrations FROM infisical;
\endif
GRANT USAGE ON SCHEMA pdpl TO pdpl_app, pdpl_readonly, pdpl_backup;
GRANT USAGE ON SCHEMA pdpl_migrations TO pdpl_backup;
-- Large objects live outside any schema; nothing of the platform's uses them.
REVOKE EXECUTE ON FUNCTION lo_create(oid), lo_creat(integer), lo_from_bytea(oid, bytea), lo_import(text),
  lo_import(text, oid) FROM PUBLIC;

-- Rights on tables: the readers' on every table, now and later. The API's are granted by each migration, table by
-- table, so a new table gives the API nothing until a migration says what it needs.
REVOKE ALL ON ALL TABLES IN SCHEMA pdpl, pdpl_migrations FROM pdpl_readonly, pdpl_backup;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pdpl, pdpl_migrations FROM pdpl_app, pdpl_readonly, pdpl_backup;
REVOKE TRUNCATE, REFERENCES, TRIGGER, MAINTAIN ON ALL TABLES IN SCHEMA pdpl FROM pdpl_app;
REVOKE ALL ON ALL TABLES IN SCHEMA pdpl_migrations FROM pdpl_app;
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner REVOKE ALL ON TABLES FROM pdpl_app;
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner IN SCHEMA pdpl REVOKE ALL ON TABLES FROM pdpl_app;
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner IN SCHEMA pdpl GRANT SELECT ON TABLES TO pdpl_readonly, pdpl_backup;
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner IN SCHEMA pdpl GRANT SELECT ON SEQUENCES TO pdpl_backup;
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner IN SCHEMA pdpl_migrations GRANT SELECT ON TABLES TO pdpl_backup;
ALTER DEFAULT PRIVILEGES FOR ROLE pdpl_owner IN SCHEMA pdpl_migrations GRANT SELECT ON SEQUENCES TO pdpl_backup;
GRANT SELECT ON ALL TABLES IN SCHEMA pdpl TO pdpl_readonly, pdpl_backup;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA pdpl TO pdpl_backup;
GRANT SELECT ON ALL TABLES IN SCHEMA pdpl_migrations TO pdpl_backup;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA pdpl_migrations TO pdpl_backup;
