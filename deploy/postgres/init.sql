-- One database per service (docker-compose runs this once, on an empty data directory).
-- `guanjia migrate <name>` also creates its database when missing; this keeps first start explicit.
CREATE DATABASE guanjia_residents;
CREATE DATABASE guanjia_tickets;
CREATE DATABASE guanjia_billing;
CREATE DATABASE guanjia_notifications;
CREATE DATABASE guanjia_staff;
CREATE DATABASE guanjia_gateway;
CREATE DATABASE guanjia_workbench;
CREATE DATABASE guanjia_community;
