-- One database per service (what deploy/local/postgres.sh makes for `make up`).
CREATE DATABASE crm_gateway;
CREATE DATABASE crm_profile;
CREATE DATABASE crm_lifecycle;
CREATE DATABASE crm_feedback;
CREATE DATABASE crm_loyalty;
