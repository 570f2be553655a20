# syntax=docker/dockerfile:1
# Build: a static binary, no cgo.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# `baton version` prints these: docker build --build-arg VERSION=1.4.0 --build-arg COMMIT=$(git rev-parse HEAD) .
# (left empty, it reads what Go stamped into the binary).
ARG VERSION=""
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/baton .

# Run: distroless static, non-root. Mount the config at /etc/baton/config.yaml
# and pass secrets as BATON_* environment variables.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/baton /usr/local/bin/baton
USER nonroot:nonroot
ENV BATON_CONFIG=/etc/baton/config.yaml \
    BATON_HTTP_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/baton"]
CMD ["serve"]
