# syntax=docker/dockerfile:1
#
# Roster container image: one static binary on distroless, running as
# nonroot. Build:
#
#   docker build -t roster --build-arg VERSION=$(git describe --always --dirty) .
#
# Run (first-run shape, embedded store in the /data volume):
#
#   docker run -p 8080:8080 -v roster-data:/data roster
#
# The production shape (MongoDB replica set, two instances behind a load
# balancer, a mail catcher) is compose.yaml.

# ---- build ------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src

# Modules first: this layer and the module cache survive source edits.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=dev
# Pure Go (modernc SQLite): CGO off gives a static binary that runs on
# distroless/static. -trimpath keeps build paths out; -s -w drops symbols.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/roster ./cmd/roster
# The data directory, owned by distroless's nonroot user (65532), so a
# fresh named volume mounted on /data is writable.
RUN mkdir -p /out/data

# ---- runtime ----------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/roster /usr/local/bin/roster
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
WORKDIR /data

# Defaults for a container: listen on every interface, keep the embedded
# store (and its generated secret key) in the volume. Set ROSTER_STORE to a
# mongodb:// URI for production.
ENV ROSTER_LISTEN=":8080" \
    ROSTER_STORE="sqlite:///data/roster.db" \
    ROSTER_LOG_FORMAT="json"
VOLUME /data
EXPOSE 8080

# No curl in distroless: the binary asks its own /readyz (store reachable).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/roster", "healthcheck"]

# serve drains requests on SIGTERM (up to 20 s): give it a stop timeout of
# 30 s (docker stop -t 30, compose stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/roster"]
CMD ["serve"]
