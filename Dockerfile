# Partnerbot: `docker build -t partnerbot .` then
# `docker run --env-file .env -p 3000:3000 -v partnerbot-data:/data partnerbot`
# The Python here is the one the test suite runs on; the dependencies are exactly those pinned,
# with their hashes, in requirements.lock (`make lock` writes it from pyproject.toml).
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.lock ./
RUN pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/partnerbot.db \
    PORT=3000
RUN useradd --create-home --uid 10001 partnerbot \
 && mkdir /data && chown partnerbot:partnerbot /data
COPY --from=build /wheels /wheels
# --no-index: only the wheels built above, whose hashes the build stage checked.
RUN pip install --no-cache-dir --no-index --find-links /wheels partnerbot && rm -rf /wheels
# Python runs with -OO (PYTHONOPTIMIZE=2): code without docstrings and asserts, ~6 MB less
# resident memory. Its bytecode is compiled here, since PYTHONDONTWRITEBYTECODE keeps the running
# bot from writing any; `partnerbot run` warns at start when it is missing. PYTHONOPTIMIZE=0
# turns it off (docs/PERFORMANCE.md, "Idle memory").
RUN python -m compileall -q -j 0 -o 2 /usr/local/lib/python3.11
ENV PYTHONOPTIMIZE=2
# glibc gives each thread that allocates a memory arena of its own; the SQLite driver's threads
# and the default executor's would keep ~2.5 MB more after a 1,000-person fan-out. Two arenas are
# plenty for an asyncio process with a few helper threads (docs/PERFORMANCE.md).
ENV MALLOC_ARENA_MAX=2
USER partnerbot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=4)"
CMD ["partnerbot", "run"]
