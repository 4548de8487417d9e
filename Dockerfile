FROM node:20-bookworm-slim
WORKDIR /app
# better-sqlite3 builds its native module when no prebuilt one fits
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY gateway ./gateway
COPY connectors ./connectors
COPY mappings ./mappings
COPY schemas ./schemas
COPY gateway.config.example.yaml ./
ENV NODE_ENV=production
# a young generation of 64 MB a half: batch work (statement matching, imports, reports) and bursts of
# requests promote less to the old generation and spend less time collecting it
ENV NODE_OPTIONS=--max-semi-space-size=64
EXPOSE 8080
USER node
CMD ["node", "bin/onec-gateway.js", "start"]
