# Every service's image, from this one file: `SERVICE` names the service (web, its default command, worker and
# migrate share the image). Build from the repository root so libs/guanjia is in the context:
#   docker build --build-arg SERVICE=billing -t guanjia/billing .
# docker-compose.yml builds each service's image this way; deploy/k8s runs them as guanjia/<service>.
FROM python:3.11-slim

ARG SERVICE
# gunicorn (guanjia.gunicorn_conf) serves $GUANJIA_SERVICE.wsgi:app on the service's own port (PORT overrides it).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUANJIA_SERVICE=${SERVICE}

WORKDIR /app

# Third-party dependencies first, pinned by the constraints: this layer survives code changes.
COPY requirements/ requirements/
RUN pip install -c requirements/constraints.txt -r requirements/base.in

# Editable installs keep the source tree in place: the service finds its Alembic migrations
# next to its package (services/<name>/migrations).
COPY libs/guanjia/ libs/guanjia/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN test -n "${SERVICE}" \
    && pip install -c requirements/constraints.txt -e libs/guanjia -e services/${SERVICE} \
    && pip check

RUN groupadd --system --gid 10001 guanjia \
    && useradd --system --uid 10001 --gid guanjia --home-dir /app --no-create-home --shell /usr/sbin/nologin guanjia
USER 10001:10001

CMD ["gunicorn", "-c", "python:guanjia.gunicorn_conf"]
