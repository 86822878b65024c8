/**
 * Striped disk-array volumes (RAID 0/5 over member volumes). Not implemented yet: this package
 * holds the module's place in the build until its issue lands; it registers no provider, so
 * asking for type "raid" fails with the list of available types.
 */
package io.pairkit.backend.raid;
