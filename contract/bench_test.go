package contract

import "testing"

// BenchmarkDecode decodes the SPEC §3 example, a contract of typical size.
func BenchmarkDecode(b *testing.B) {
	data := []byte(specExample)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, errs := Decode("handler_contract.yaml", data); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
