package runtime

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"

	"github.com/google/uuid"
)

// idSource makes the random (version 4) UUIDs of envelope ids: one per
// response, one per request that came without ids. Each worker owns one, and
// callers without a worker borrow one, so generating an id
// takes no lock shared between workers (uuid's own random pool is one mutex
// for the whole process, which the workers of a busy host queue on) and never
// allocates. The generator is ChaCha8, a cryptographically strong generator,
// seeded from crypto/rand, as RFC 9562 asks of version 4 UUIDs.
// (Dispatches without a worker borrow one with their scratch.)
//
// An idSource is not safe for concurrent use.
type idSource struct {
	r *rand.ChaCha8
}

func newIDSource() *idSource {
	var seed [32]byte
	crand.Read(seed[:]) // never fails: crypto/rand crashes the process instead
	return &idSource{r: rand.NewChaCha8(seed)}
}

// newUUID returns a random UUID, version 4, variant RFC 9562 (the layout
// uuid.NewRandom produces).
func (s *idSource) newUUID() uuid.UUID {
	var u uuid.UUID
	binary.LittleEndian.PutUint64(u[:8], s.r.Uint64())
	binary.LittleEndian.PutUint64(u[8:], s.r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}
