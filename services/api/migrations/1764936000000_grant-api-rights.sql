-- Up Migration
-- The API's role gets, table by table, only what the API does with each (compose/postgres/layout.sql grants it
-- nothing by default): it reads users to log in and show profiles, and inserts them (npm run user:create).
GRANT SELECT, INSERT ON users TO pdpl_app;

-- Down Migration
REVOKE ALL ON users FROM pdpl_app;
