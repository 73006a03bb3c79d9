# syntax=docker/dockerfile:1

# Build:  docker build -t bff:dev .
# Run:    docker run --read-only --tmpfs /tmp -p 8080:8080 -e Bff__Authority=... bff:dev
# deploy/check.sh runs this file's build commands (npm ci, npm run build, dotnet publish) on a copy of
# exactly the files the COPY instructions below take, and lints this file.

# ---- SPA assets ------------------------------------------------------------------------------------
FROM node:22-slim AS spa
WORKDIR /src/spa-sample
# Manifests first so the dependency layer is reused while only sources change.
COPY spa-sample/package.json spa-sample/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY spa-sample/ ./
RUN npm run build

# ---- Gateway ---------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY .editorconfig Directory.Build.props Directory.Packages.props ./
# The library (Bff/) and the host that composes it (Bff.Host/).
COPY Bff/Bff.csproj Bff/
COPY Bff.Host/Bff.Host.csproj Bff.Host/
RUN dotnet restore Bff.Host/Bff.Host.csproj
COPY Bff/ Bff/
COPY Bff.Host/ Bff.Host/
# No apphost: the image starts the gateway as `dotnet Bff.Host.dll`.
RUN dotnet publish Bff.Host/Bff.Host.csproj -c Release -o /out --no-restore -p:UseAppHost=false

# ---- Runtime ---------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
# The root filesystem is meant to be mounted read-only with a writable volume at /tmp only:
# - TMPDIR: temporary files and the .NET diagnostics IPC socket (dotnet-monitor can share the volume);
# - HOME: ASP.NET Core Data Protection falls back to $HOME/.aspnet when no key store is configured
#   (in-memory session store); keep that fallback on the writable volume instead of failing writes.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    TMPDIR=/tmp \
    HOME=/tmp
COPY --from=build --chown=root:root /out/ ./
COPY --from=spa --chown=root:root /src/spa-sample/dist/ ./wwwroot/
# The image's non-root `app` user, numeric so Kubernetes can verify runAsNonRoot.
USER 1654
EXPOSE 8080
ENTRYPOINT ["dotnet", "Bff.Host.dll"]
