# syntax=docker/dockerfile:1
# attnserve container image: linux/arm64 (Raspberry Pi 4/5, Jetson, Graviton)
# and linux/amd64, Debian bookworm.
#
#   docker buildx build --platform linux/arm64,linux/amd64 -t REGISTRY/attnserve:TAG --push .
#   docker buildx build --platform linux/arm64 -t attnserve:arm64 --load .   # one arch, local
#
# Build stage: the packages of scripts/apt-packages.txt, the model (fetched and
# verified by tools/fetch_model.sh), a Release build of attnserve and attnctl.
# The GEMM backend is OpenBLAS on arm64 (Debian's arm64 oneDNN only has a
# reference GEMM) and oneDNN on amd64; ATTNSERVE_GEMM_BACKEND overrides it.
# Runtime stage: debian:bookworm-slim with exactly deploy/runtime-packages.txt
# (the test runtime_packages_test checks it against ldd, and so does this build).
# docs/DEPLOYMENT.md has the details.

ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
ARG ATTNSERVE_GEMM_BACKEND=
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/apt-packages.txt /tmp/apt-packages.txt
RUN apt-get update -q \
 && grep -vE '^\s*(#|$)' /tmp/apt-packages.txt \
    | xargs apt-get install -y -q --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . /src
RUN bash tools/fetch_model.sh /src/models/use-lite
RUN backend="${ATTNSERVE_GEMM_BACKEND}"; \
    if [ -z "$backend" ]; then \
      case "$(dpkg --print-architecture)" in arm64) backend=openblas ;; *) backend=onednn ;; esac; \
    fi; \
    cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
          -DATTNSERVE_GEMM_BACKEND="$backend" \
          -DATTNSERVE_BUILD_TESTS=OFF -DATTNSERVE_BUILD_BENCH=OFF \
 && cmake --build /build --parallel "$(nproc)" --target attnserve attnctl \
 && if [ "$backend" = openblas ]; then ldd /build/server/attnserve | grep -q libopenblas; fi \
 && python3 tests/e2e/runtime_packages_test.py \
      --packages deploy/runtime-packages.txt \
      /build/server/attnserve /build/clients/attnctl/attnctl

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
COPY deploy/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update -q \
 && grep -vE '^\s*(#|$)' /tmp/runtime-packages.txt \
    | xargs apt-get install -y -q --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --system --gid 10001 attnserve \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/attnserve \
            --shell /usr/sbin/nologin attnserve \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/attnserve \
 && install -d -m 0755 /etc/attnserve /opt/attnserve/models
COPY --from=build /build/server/attnserve /build/clients/attnctl/attnctl /usr/local/bin/
COPY --from=build /src/models/use-lite /opt/attnserve/models/use-lite
COPY deploy/attnserve.textproto /etc/attnserve/attnserve.textproto
USER 10001:10001
WORKDIR /var/lib/attnserve
# gRPC (Inference, Admin, grpc.health.v1) and Prometheus /metrics.
EXPOSE 50051 8080 9464
VOLUME ["/var/lib/attnserve"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["attnctl", "--server", "127.0.0.1:50051", "--timeout", "3", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/attnserve"]
CMD ["--config", "/etc/attnserve/attnserve.textproto"]
