#!/usr/bin/env bash
# Write deploy/compose/.env (mode 600) with fresh secrets, unless it exists:
# CRM_PG_PASSWORD, CRM_INTERNAL_SECRET (shared by the gateway and the services) and
# CRM_BOOTSTRAP_API_KEY (the operator's key: read it from .env to call the API).
set -euo pipefail
cd "$(dirname "$0")"
if [[ -s .env ]]; then echo "[compose] .env exists, kept"; exit 0; fi
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
umask 077
{
  echo "CRM_PG_PASSWORD=$(secret)"
  echo "CRM_INTERNAL_SECRET=$(secret)"
  echo "CRM_BOOTSTRAP_API_KEY=crm_$(secret)"
} >.env
echo "[compose] wrote deploy/compose/.env (mode 600)"
