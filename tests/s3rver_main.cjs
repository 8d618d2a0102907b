// Node entry point for s3rver 3.7.1 (a local S3 for tests) with one fix, then its own CLI.
//
// s3rver's FilesystemStore.listObjects prunes every directory below a common prefix
// before it has seen an object there, so with a Delimiter a "folder" is listed only if
// it holds an object directly. This lists without the delimiter and folds the keys into
// common prefixes afterwards, as S3 does.
"use strict";
const FilesystemStore = require("s3rver/lib/stores/filesystem");

const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const delimiter = options.delimiter || "";
  if (!delimiter) return listObjects.call(this, bucket, options);
  const prefix = options.prefix || "";
  const maxKeys = options.maxKeys === undefined ? Infinity : options.maxKeys;
  const all = await listObjects.call(this, bucket, {
    ...options,
    delimiter: "",
    maxKeys: Infinity,
  });
  const commonPrefixes = new Set();
  const objects = [];
  for (const object of all.objects) {
    const at = object.key.slice(prefix.length).indexOf(delimiter);
    if (at === -1) objects.push(object);
    else commonPrefixes.add(object.key.slice(0, prefix.length + at + delimiter.length));
  }
  return {
    objects: objects.slice(0, maxKeys),
    commonPrefixes: [...commonPrefixes].sort(),
    isTruncated: objects.length > maxKeys,
  };
};

require("s3rver/bin/s3rver.js");
