// Package docs holds the project's design documents; its test keeps
// architecture.md's package map true to the code.
package docs
