package gateway

// Crash makes g vanish as a killed process would, for the drills: its
// listeners and every open request drop at once, then its NATS
// connection, with nothing drained, handed back or unpinned. Run still
// needs its context cancelled to return.
func (g *Gateway) Crash() {
	_ = g.publicSrv.Close()
	_ = g.adminSrv.Close()
	g.bus.Conn().Close()
}
