// expect: domain-not-transport
export type { FastifyInstance } from 'fastify';
