# syntax=docker/dockerfile:1
# Build: docker build -t hotline .
# Run:   docker run -p 8080:8080 -p 8081:8081 -v hotline-data:/data \
#          -e HOTLINE_HTTP_ADMIN_TOKEN=$(openssl rand -hex 24) hotline

FROM golang:1.26-bookworm AS build
# go.mod's toolchain: the go command fetches it from the module proxy.
ENV GOTOOLCHAIN=go1.27.3
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hotline ./cmd/hotline \
 && mkdir -p /out/data && chown 65532:65532 /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/hotline /hotline
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME /data
# The admin listener must be reachable from outside the container, which
# makes HOTLINE_HTTP_ADMIN_TOKEN mandatory: without it serve exits 2.
ENV HOTLINE_NATS_STORE_DIR=/data/nats \
    HOTLINE_HTTP_LISTEN=:8080 \
    HOTLINE_HTTP_ADMIN_LISTEN=:8081 \
    HOTLINE_LOG_FORMAT=json
EXPOSE 8080 8081
# /readyz, not /healthz: healthy means messages can be stored (NATS and
# its disk answer), which is what a load balancer or an orchestrator
# needs to know. A start takes up to about 20 s (the embedded server
# recovers its streams), hence the start period.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/hotline", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/hotline"]
CMD ["serve"]
