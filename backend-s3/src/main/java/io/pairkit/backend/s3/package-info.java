/**
 * Object-store volumes (fixed-size chunk objects in an S3 bucket). Not implemented yet: this
 * package holds the module's place in the build until its issue lands; it registers no provider,
 * so asking for type "s3" fails with the list of available types.
 */
package io.pairkit.backend.s3;
