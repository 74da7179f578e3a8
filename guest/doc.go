// Package guest is the contract between the host tools and a booted Keel machine, as package
// bundle is for the image layout: the names of the files keel build writes, the console lines
// PID 1 prints that a host reads, and the kernel command-line settings PID 1 understands. Both
// sides use these names, so neither spells them out again.
package guest
