package bus

// Assign is assign, for the black-box tests of ownership.
var Assign = assign
