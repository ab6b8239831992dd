import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class CreateSessionDto {
  /** Idle seconds before the session ends by itself (`expired`), 10..3600 (default 600). */
  @ApiPropertyOptional({ example: 600, minimum: 10, maximum: 3600 })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(3600)
  ttl?: number;

  /** Your identifier for this session, echoed in its answers. */
  @ApiPropertyOptional({ example: 'notebook-1' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  id?: string;
}

export class ListSessionsQueryDto {
  /** Page size, 1..100 (default 50). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}
