# syntax=docker/dockerfile:1
# hipspine-cds production image: multi-stage, non-root, gunicorn, healthcheck, no secrets.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY service ./service
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -c requirements.lock .

FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="hipspine-cds" \
      org.opencontainers.image.description="Hip-spine syndrome CDS: FHIR R4 and CDS Hooks 2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/hipspine \
    MAPPINGS_DIR=/app/mappings \
    PROFILES_DIR=/app/profiles
RUN groupadd --system --gid 10001 hipspine \
 && useradd --system --uid 10001 --gid hipspine --home-dir /app --shell /usr/sbin/nologin hipspine \
 && mkdir -p /var/lib/hipspine \
 && chown hipspine:hipspine /var/lib/hipspine
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root mappings ./mappings
COPY --chown=root:root profiles ./profiles
COPY --chown=root:root gunicorn.conf.py ./
# numeric: runtimes that check runAsNonRoot cannot resolve a user name (hadolint DL3066)
USER 10001:10001
EXPOSE 8080
VOLUME ["/var/lib/hipspine"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os,urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','8080'), timeout=2); sys.exit(0)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py"]
