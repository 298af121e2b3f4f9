// serverless.yml `build:` key --> (this local plugin, v3/osls only) --> config schema
//
// Serverless Framework v4 knows the top-level `build` key (`build.esbuild: false` switches off
// its built-in bundler so that serverless-esbuild does the bundling). osls, the v3 line, does not
// know it and, with `configValidationMode: error`, would reject the file. This plugin declares
// the key where the framework has not; under v4 it does nothing.
'use strict';

class DeclareBuildKey {
  constructor(serverless) {
    const handler = serverless.configSchemaHandler;
    if (!handler || !handler.schema || !handler.schema.properties) return;
    if (handler.schema.properties.build) return; // v4 declares it itself
    handler.defineTopLevelProperty('build', {
      type: 'object',
      properties: {
        esbuild: { anyOf: [{ type: 'boolean' }, { type: 'object' }] },
      },
      additionalProperties: false,
    });
  }
}

module.exports = DeclareBuildKey;
