// Package archive keeps records, through spool.
package archive

import "example.com/vetsample/spool"

// Keep stores a record under name.
func Keep(name string, b []byte) error { return spool.Write("/var/lib/archive/"+name, b) }
