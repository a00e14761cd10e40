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
# AWS publishes no checksum for it, so the build takes the SHA-256 of a copy you verified as a
# build argument (stack setting jobping:image.rdsCaBundleSha256) and fails if the argument is
# missing or the download differs from it.
ARG RDS_CA_BUNDLE_SHA256
ADD --chmod=444 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem \
    /etc/ssl/certs/rds-global-bundle.pem
RUN test -n "${RDS_CA_BUNDLE_SHA256}" \
      || { echo "build argument RDS_CA_BUNDLE_SHA256 is required" >&2; exit 1; } \
 && echo "${RDS_CA_BUNDLE_SHA256}  /etc/ssl/certs/rds-global-bundle.pem" | sha256sum --strict -c -
# The task's only writable path is /tmp, a task volume with a read-only root filesystem. Fargate
# creates a bind mount root-owned (0755) unless the image declares the path as a VOLUME: then ECS
# copies the image's directory, owner and mode included, into the volume. So /tmp belongs to the
# task user before it becomes a VOLUME (changes after VOLUME would be discarded).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
RUN groupadd --system --gid 10001 jobping \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin jobping \
 && chown 10001:10001 /tmp \
 && chmod 0700 /tmp
VOLUME ["/tmp"]
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
# Non-root; the only writable path it needs is /tmp (the VOLUME above).
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HEALTH_PORT', '8080'), timeout=3)"]
CMD ["python", "-m", "worker"]
