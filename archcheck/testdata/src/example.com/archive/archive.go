// Package archive keeps records through another helper package.
package archive

import "example.com/spool"

// Keep writes a file two packages down.
func Keep(name string, b []byte) error { // want Keep:`reaches spool.Write → os.WriteFile$`
	return spool.Write("/var/lib/archive/"+name, b)
}

// Store is a method reaching it.
type Store struct{ Dir string }

func (s Store) Put(name string, b []byte) error { // want Put:`reaches archive.Keep → spool.Write → os.WriteFile$`
	return Keep(s.Dir+name, b)
}
