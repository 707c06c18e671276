// Package envelope holds the normalized types every part of hotline speaks:
// the inbound Message an adapter publishes, the outbound Reply the router
// produces, the Handoff record agents work from and the delivery Status
// event, together with the NATS subjects they travel on and their JSON codec.
//
// It imports only the standard library so that every other package, and
// anything outside the project that reads hotline's subjects, can depend on
// it without pulling in NATS or a platform SDK.
package envelope
