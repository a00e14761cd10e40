# syntax=docker/dockerfile:1
# One image, two entry points: `python -m worker` (default) and `python -m scanner`.
# Only the runtime requirements are installed; no Pulumi, no test tools.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements-runtime.txt /tmp/requirements-runtime.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r /tmp/requirements-runtime.txt
COPY jobping/ /app/jobping/
COPY worker/ /app/worker/
COPY scanner/ /app/scanner/
# Compile once at build time: the root filesystem is read-only at run time.
RUN /opt/venv/bin/python -m compileall -q /app /opt/venv

FROM python:3.11-slim
# Amazon RDS's CA bundle: the worker and scanner connect with sslmode=verify-full (rds.force_ssl).
ADD --chmod=444 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem \
    /etc/ssl/certs/rds-global-bundle.pem
RUN groupadd --system --gid 10001 jobping \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin jobping
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TMPDIR=/tmp \
    HOME=/tmp \
    LOG_FORMAT=json \
    PGSSLROOTCERT=/etc/ssl/certs/rds-global-bundle.pem \
    HEALTH_PORT=8080
# Non-root; the only writable path it needs is /tmp (a volume on Fargate).
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HEALTH_PORT', '8080'), timeout=3)"]
CMD ["python", "-m", "worker"]
